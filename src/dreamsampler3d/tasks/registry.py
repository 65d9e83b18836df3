"""The task registry: each task declares itself once, in its own module, with ``register(TaskSpec(...))``.

The CLI (parsers, flags, ``--method`` choices, help), the configs (class, defaults YAML, checks), input reading,
construction, the runner and the batch runner all read the specs; none of them names a task. Every module of
the ``tasks`` package is imported once, the first time the registry is read, so a new module registers itself.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib import resources
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Callable

from ..errors import UserError
from ..priors.embedded import ICONS

# What a task may take from the command line, and the config key each sets (svg: --svg sets svg_file).
# prompt / mask: exactly one; prompts / masks: repeatable flags. Required inputs are checked in config.validate;
# degradation also brings the keys mask, blur_sigma and noise_sigma.
INPUTS = {"prompt": "prompt", "prompts": "prompts", "image": "image", "mask": "mask", "masks": "masks",
          "svg": "svg_file", "degradation": "degradation"}


@dataclass(frozen=True)
class TaskSpec:
    name: str  # the subcommand
    help: str  # one line: `dreamsampler3d --help` and the description of `dreamsampler3d <name> --help`
    config: type  # the full config dataclass: Common + the task's options + the keys of its inputs
    build: Callable[[Any, Any, Any], tuple[Any, Callable[[Any], dict]]]
    # build(cfg, prior, inputs) -> (the SamplingTask, result -> task metrics for metrics.json); inputs is a
    # tasks.prepare.Inputs whose ``source`` holds what was read (the image or the SVG); build may set its
    # ``image`` (written as input.png), ``masks`` and ``notes``
    inputs: tuple[str, ...] = ()  # keys of INPUTS, in the order their missing-value errors are reported
    methods: tuple[str, ...] = ()  # --method choices and the values of the config's ``method`` (default: the config's)
    method_help: str = ""  # --method's help
    needs_prior: bool = True  # False: no diffusion model is loaded (prior is None)
    prior: str = ICONS  # the embedded prior --model embedded means for this task (an assets/ folder)
    check: Callable[[Any], None] | None = None  # the task's own value checks: raise UserError naming the key
    batch: bool = False  # may run under `dreamsampler3d batch` (needs a prompt and the prior)
    run: Callable[[Any, Callable, Callable], Path | None] | None = None
    # run(cfg, run_config, log): a run of its own for this config (several stages, say) returning the output
    # folder, or None for the usual single run
    defaults: str | Path | None = None  # folder holding <name>.yaml (None: the package's configs/)
    order: int = 100  # position in `dreamsampler3d --help`
    resolve: Callable[[Any], None] | None = None  # settings implied by others, set on the merged config before the
    # checks (a tracer baseline runs one step whatever run.steps says), so config.yaml and metrics.json tell the truth
    about: str = ""  # `dreamsampler3d <name> --help`: what the task does and what it writes, beyond `help`
    examples: tuple[str, ...] = ()  # worked command lines (inputs from `dreamsampler3d samples`); tests run them

    def defaults_file(self) -> Path | None:
        """The task's YAML defaults, if it has any."""
        folder = resources.files("dreamsampler3d") / "configs" if self.defaults is None else self.defaults
        path = Path(str(folder)) / f"{self.name}.yaml"
        return path if path.is_file() else None


_SPECS: dict[str, TaskSpec] = {}
_discovered = False


def register(spec: TaskSpec) -> TaskSpec:
    """Add a task; a mistake in the spec itself is a programming error (ValueError), raised here."""
    unknown = [k for k in spec.inputs if k not in INPUTS]
    if unknown:
        raise ValueError(f"task {spec.name!r}: unknown input {unknown[0]!r} (known: {', '.join(INPUTS)})")
    keys = {f.name for f in fields(spec.config)}
    needed = [INPUTS[k] for k in spec.inputs]
    if "degradation" in spec.inputs:
        needed += ["mask", "blur_sigma", "noise_sigma"]
    if spec.methods:
        needed.append("method")
    missing = [k for k in needed if k not in keys]
    if missing:
        raise ValueError(f"task {spec.name!r}: its config has no key {missing[0]!r}")
    if spec.batch and not (spec.needs_prior and "prompt" in spec.inputs):
        raise ValueError(f"task {spec.name!r}: a batch task takes one prompt and needs the prior")
    if _SPECS.get(spec.name, spec) is not spec:
        raise ValueError(f"task {spec.name!r} is registered twice")
    _SPECS[spec.name] = spec
    return spec


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    package = importlib.import_module(__package__)
    for info in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{__package__}.{info.name}")
    _discovered = True


def specs() -> list[TaskSpec]:
    """Every task, in help order."""
    _discover()
    return sorted(_SPECS.values(), key=lambda s: (s.order, s.name))


def get(name: str) -> TaskSpec:
    _discover()
    if name not in _SPECS:
        raise UserError(f"unknown task {name!r}")
    return _SPECS[name]


# The config layer sits above the tasks (docs/architecture.md), yet a task of several stages (restore-svg's
# two-stage baselines) builds the configs of its stages. config.py hands its builder down when it is imported,
# which every path to a run goes through: tasks never import config.
_CONFIG_BUILDER: Callable[..., Any] | None = None


def set_config_builder(build: Callable[..., Any]) -> None:
    global _CONFIG_BUILDER
    _CONFIG_BUILDER = build


def build_stage_config(task: str, flags: dict) -> Any:
    """A validated config of ``task`` from flags alone (its defaults and YAML otherwise), for a run's stages."""
    if _CONFIG_BUILDER is None:
        raise RuntimeError("dreamsampler3d.config is not imported: build configs with config.build_config")
    return _CONFIG_BUILDER(task, None, [], flags)
