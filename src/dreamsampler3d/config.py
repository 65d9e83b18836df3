"""Typed run configurations: one dataclass per task (its ``TaskSpec.config``), strict (unknown keys and bad
values are errors).

Values are merged in this order: dataclass defaults, ``configs/<task>.yaml``, ``--config FILE``,
``key=value`` overrides, explicit flags (``--steps`` ...).
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .config_base import to_yaml  # noqa: F401 (re-exported: config.yaml is written with it)
from .errors import UserError, require
from .sampler.operators import DEGRADATIONS
from .tasks.registry import TaskSpec, get, set_config_builder


def default_yaml(task: str) -> Path | None:
    return get(task).defaults_file()


def _fail(exc: OmegaConfBaseException) -> UserError:
    key = getattr(exc, "full_key", None)
    msg = str(exc).splitlines()[0]
    return UserError(f"config: {msg}" + (f" (key '{key}')" if key and key not in msg else ""))


def build_config(task: str, config_file: str | None = None, overrides: list[str] = (), flags: dict[str, Any] | None = None):
    """The resolved, validated dataclass for ``task``."""
    cfg = _merge(task, config_file, overrides, flags)
    if get(task).resolve is not None:
        get(task).resolve(cfg)
    validate(task, cfg)
    return cfg


def default_config(task: str):
    """The task's defaults (dataclass, then its YAML) before any input is given, so not validated (a required
    prompt is still empty): what a front end shows as the starting values, and what a command line leaves out."""
    return _merge(task)


def _merge(task: str, config_file: str | None = None, overrides: list[str] = (), flags: dict[str, Any] | None = None):
    """The layers merged into the task's dataclass; type errors are one-line UserErrors."""
    schema = OmegaConf.structured(get(task).config)  # an unknown task is a UserError here
    layers = []
    try:
        for path in (default_yaml(task), config_file):
            if path is None:
                continue
            layers.append(_load_yaml(Path(path)))
        bad = [o for o in overrides if "=" not in o]
        if bad:
            raise UserError(f"override {bad[0]!r} is not of the form key=value")
        layers.append(OmegaConf.from_dotlist(list(overrides)))
        if flags:
            layers.append(OmegaConf.create(flags))
        merged = OmegaConf.merge(schema, *layers)
        cfg = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        raise _fail(exc) from None
    except ValueError as exc:  # yaml errors
        raise UserError(f"config: {str(exc).splitlines()[0]}") from None
    return cfg


def _load_yaml(path: Path):
    """A config file: a mapping of keys, plain YAML only (no aliases: a few lines of them can expand to
    gigabytes; no tags: those construct Python objects)."""
    import yaml

    if path.is_dir():
        raise UserError(f"--config {path}: is a folder, not a file")
    if not path.is_file():
        raise UserError(f"--config {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
        if len(text) > 1_000_000:
            raise UserError(f"--config {path}: more than 1 MB; a config is a few lines")
        for token in yaml.scan(text):
            if isinstance(token, (yaml.AliasToken, yaml.AnchorToken)):
                raise UserError(f"--config {path}: YAML anchors and aliases are not allowed in a config")
            if isinstance(token, yaml.TagToken):
                raise UserError(f"--config {path}: YAML tags are not allowed in a config")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--config {path}: cannot be read ({type(exc).__name__})") from None
    except yaml.YAMLError as exc:
        raise UserError(f"--config {path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"--config {path}: must be a mapping of keys (key: value lines), got a {type(data).__name__}")
    return OmegaConf.create(data)


def _finite_floats(obj, prefix: str = "") -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            _finite_floats(value, f"{prefix}{f.name}.")
        elif isinstance(value, float):
            require(math.isfinite(value), f"config: {prefix}{f.name} must be a finite number, got {value}")


def _component_problems(obj, prefix: str = "") -> None:
    """Every nested component config (sampler, svg, nerf ...) that can say what is wrong with its values does."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            for problem in getattr(value, "problems", lambda: [])():
                raise UserError(f"config: {prefix}{f.name}.{problem}")
            _component_problems(value, f"{prefix}{f.name}.")


def validate(task: str, cfg) -> None:
    """Value checks a type system cannot express; each failure names its key."""
    _finite_floats(cfg)
    _component_problems(cfg)
    run = cfg.run
    require(run.steps >= 1, f"config: run.steps must be >= 1, got {run.steps}")
    require(0 <= run.seed < 2**32, f"config: run.seed must lie in 0..{2**32 - 1}, got {run.seed}")
    device = cfg.prior.device
    require(device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit()),
            f"config: prior.device must be auto, cpu, cuda or cuda:N, got {device!r}")
    require(run.snapshot_every >= 0, f"config: run.snapshot_every must be >= 0, got {run.snapshot_every}")
    require(run.checkpoint_every >= 0, f"config: run.checkpoint_every must be >= 0, got {run.checkpoint_every}")
    require(cfg.prior.dtype in ("auto", "fp32", "fp16", "bf16"), f"config: prior.dtype must be auto, fp32, fp16 or bf16, got {cfg.prior.dtype!r}")
    for key in ("height", "width"):
        value = getattr(cfg, key, None)
        require(value is None or value > 0, f"config: {key} must be positive, got {value}")
    spec = get(task)
    _check_inputs(spec, cfg)
    if spec.methods:
        methods = " or ".join(spec.methods) if len(spec.methods) == 2 else f"one of {', '.join(spec.methods)}"
        require(cfg.method in spec.methods, f"config: method must be {methods}, got {cfg.method!r}")
    if spec.check is not None:
        spec.check(cfg)


def _check_inputs(spec: TaskSpec, cfg) -> None:
    """What the task's inputs (``TaskSpec.inputs``) require, in their order."""
    for kind in spec.inputs:
        if kind == "prompt":
            require(cfg.prompt.strip() != "", "config: prompt is required (--prompt TEXT)")
        elif kind == "image":
            require(cfg.image != "", "config: image is required (--image FILE)")
        elif kind == "svg":
            require(cfg.svg_file != "", "config: an SVG is required (--svg FILE)")
        elif kind == "masks":
            require(len(cfg.masks) >= 1, "config: at least one mask is required (--mask FILE)")
        elif kind == "degradation":
            require(cfg.degradation in DEGRADATIONS,
                    f"config: degradation must be one of {', '.join(DEGRADATIONS)}, got {cfg.degradation!r}")
            require(cfg.degradation != "inpaint" or cfg.mask, "config: degradation=inpaint needs --mask FILE")
            require(cfg.blur_sigma > 0 and cfg.noise_sigma >= 0, "config: blur_sigma must be > 0 and noise_sigma >= 0")


set_config_builder(build_config)  # a task's stages build their configs through it (tasks/registry.py)


def run(task: str, config_file: str | None = None, overrides: list[str] = (), flags: dict | None = None, log=print) -> Path:
    """Python entry point, same semantics as the CLI: ``run('generate', flags={'prompt': 'a red star'})``."""
    from .tasks.runner import run_config

    return run_config(task, build_config(task, config_file, list(overrides), flags), log)
