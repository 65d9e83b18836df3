"""What the command line needs to know of every task, as a JSON file in the package, so that `--help` and argument
errors answer without importing torch (the task modules import it).

The file is generated from the task registry and the configs: ``python -m dreamsampler3d.cli.catalogue``
rewrites it, and tests/test_cli_help.py fails when it no longer matches what the registry says.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

PATH = Path(__file__).with_name("catalogue.json")
# keys of the common config that a task without a prior does not read
PRIOR_KEYS = ("prior.",)


def _applies(key: str, needs_prior: bool, inputs: tuple[str, ...]) -> bool:
    from ..tasks.registry import INPUTS

    if not needs_prior and key.startswith(PRIOR_KEYS):
        return False
    flag_keys = {INPUTS[k] for k in inputs} | {"method", "run.steps", "run.seed", "run.out", "run.resume",
                                                "run.overwrite", "run.progress", "prior.model"}
    return key not in flag_keys


def info(spec) -> dict[str, Any]:
    """One task's entry, from its registry spec and its config defaults."""
    from ..config import SIDE, bounds, default_config
    from .command import dotted

    cfg = default_config(spec.name)
    defaults = dotted(cfg)
    return {
        "name": spec.name, "help": spec.help, "about": spec.about, "examples": list(spec.examples),
        "inputs": list(spec.inputs), "methods": list(spec.methods), "method_help": spec.method_help,
        "needs_prior": spec.needs_prior, "prior": spec.prior, "method_default": defaults.get("method"),
        "steps_default": defaults.get("run.steps"), "out_default": defaults.get("run.out"),
        "options": {k: v for k, v in defaults.items() if _applies(k, spec.needs_prior, tuple(spec.inputs))},
        "bounds": bounds(cfg),  # the most each work setting may ask for (config.BOUNDS)
        "render_side": SIDE if hasattr(getattr(cfg, "svg", None), "render_scale") else None,
    }


def build() -> dict[str, Any]:
    """The catalogue computed from the registry (imports every task, so torch)."""
    from ..sampler.operators import DEGRADATIONS
    from ..tasks.registry import specs

    return {"tasks": [info(s) for s in specs()], "degradations": list(DEGRADATIONS)}


def text(catalogue: dict[str, Any]) -> str:
    return json.dumps(catalogue, indent=1, sort_keys=False) + "\n"


@lru_cache(maxsize=1)
def load() -> dict[str, Any]:
    return json.loads(PATH.read_text(encoding="utf-8"))


def _live():
    """The registry module when something in this process has already imported it (then the specs, which code may
    have added to or changed, are the truth); None in a fresh command-line process, which reads the file."""
    return sys.modules.get("dreamsampler3d.tasks.registry")


def tasks() -> list[dict[str, Any]]:
    """Every task, in help order."""
    registry = _live()
    return [info(s) for s in registry.specs()] if registry is not None else list(load()["tasks"])


def task(name: str) -> dict[str, Any] | None:
    """A task's entry, or None for an unknown name."""
    registry = _live()
    if registry is None:
        return next((t for t in load()["tasks"] if t["name"] == name), None)
    registry.specs()
    return info(registry._SPECS[name]) if name in registry._SPECS else None


def main() -> int:
    PATH.write_text(text(build()), encoding="utf-8")
    print(f"wrote {PATH}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
