"""The command line that reproduces a run: a config back to ``dreamsampler3d <task> --flags key=value``.

The one place that turns a config into a command (the web UI shows it beside every run); the inverse of
``cli/main.py``'s parsing, checked by a round trip in tests/test_ui.py. Values equal to the task's defaults are
left out, so the command stays short and keeps meaning the same if only unrelated defaults change.

It sits beside ``config.py``, below both front ends (``cli/`` starts ``ui/``, so the web UI may not import ``cli``;
docs/architecture.md).
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml
from omegaconf import OmegaConf

# config key -> the flag that sets it (lists repeat the flag); every other key is a key=value override
FLAGS = {"prior.model": "--model", "prompt": "--prompt", "prompts": "--prompt", "svg_file": "--svg",
         "image": "--image", "mask": "--mask", "masks": "--mask", "degradation": "--degradation",
         "method": "--method", "run.steps": "--steps", "run.seed": "--seed", "run.out": "--out",
         "run.resume": "--resume"}
ALWAYS = ("run.out",)  # written even when it is the default: where the files are is part of what was run
IGNORED = ("run.progress",)  # how the run is watched, not what it computes


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{'run': {'steps': 3}} -> {'run.steps': 3} (lists stay values)."""
    if not isinstance(tree, dict):
        return {prefix[:-1]: tree}
    out: dict[str, Any] = {}
    for key, value in tree.items():
        out.update(flatten(value, f"{prefix}{key}."))
    return out


def dotted(cfg) -> dict[str, Any]:
    """A config dataclass as {'run.steps': 50, ...}, in field order."""
    return flatten(OmegaConf.to_container(OmegaConf.structured(cfg)))


def _value(value: Any) -> str:
    """A value as OmegaConf's dotlist reads it back (YAML flow style: 3, 0.5, true, [glb, obj], 'a b')."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
    return text[:-3].strip() if text.endswith("\n...") else text.removesuffix("...").strip()


def command_line(task: str, cfg, program: str = "dreamsampler3d") -> str:
    """The shell command that runs ``cfg`` again (same bytes: same seed, same machine)."""
    from .config import default_config

    current, default = dotted(cfg), dotted(default_config(task))
    parts = [program, task]
    for key, flag in FLAGS.items():
        if key not in current:
            continue
        value = current[key]
        if isinstance(value, list):
            for item in value:
                parts += [flag, str(item)]
        elif value is not None and (key in ALWAYS or value != default.get(key)):
            parts += [flag, str(value)]
    if current.get("run.overwrite"):
        parts.append("--overwrite")
    for key, value in current.items():
        if key in FLAGS or key in IGNORED or key == "run.overwrite" or value == default.get(key):
            continue
        parts.append(f"{key}={_value(value)}")
    return shlex.join(parts)
