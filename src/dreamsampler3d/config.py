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
from .renderers.svg.limits import LIMITS
from .sampler.operators import DEGRADATIONS
from .tasks.registry import TaskSpec, get, set_config_builder

# The most each work setting may ask for, in one table: checked for every task whose config has the key, before any
# input is read or the model loads, and shown by `dreamsampler3d <task> --help`. Each is well above what a run
# needs and below what exhausts a machine or never ends (output_size=30000 took 3.9 GB before failing;
# svg.num_paths=2000 spent 400+ s cleaning up). A list's bound is on its length.
SIDE = math.isqrt(LIMITS.max_pixels)  # 8192 px: the rasteriser's pixel bound (DREAMSAMPLER3D_MAX_PIXELS), squared
MODEL_SIDE = 1024  # the largest native size of a Stable-Diffusion-family model (SDXL): an SVG canvas by default
BOUNDS: dict[str, int] = {
    "run.steps": 1000,
    "run.snapshot_every": 1000, "run.checkpoint_every": 1000, "video_every": 1000,  # (more than the steps: never)
    "height": 2048, "width": 2048,  # pixels the model works at
    "output_size": SIDE,  # result.svg's size, rendered to result.png
    "svg.num_paths": 256, "svg.segments": 64, "svg.colours": 32, "svg.render_scale": 8, "svg.samples": 8,
    "svg.prune_every": 100_000,
    "inner_steps": 64, "inversion_fixed_point_iters": 50, "samples": 16, "cg_iters": 200, "sampler.cg_iters": 200,
    "sampler.dreamsampler_every": 1000,
    "views": 64, "views_per_step": 64, "render_size": 512, "mesh_resolution": 256, "orbit_frames": 360,
    "nerf.samples_per_ray": 512, "nerf.field.plane_resolution": 1024, "nerf.field.features": 128,
    "nerf.field.hidden": 512,
    "prompts": 16, "masks": 16, "mesh_formats": 3,
}
WHY = {"run.steps": "a Stable-Diffusion-family model has 1000 training timesteps"}  # said with the bound


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
        for o in overrides:  # before OmegaConf reads them (it fails on a lone surrogate with a long message)
            key, _, value = o.partition("=")
            _utf8(key.encode("utf-8", "backslashreplace").decode(), value)
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


def _numbers_and_text(obj, prefix: str = "") -> None:
    """Every number finite, every text encodable as UTF-8 (a byte that is not UTF-8 on the command line reaches
    Python as a lone surrogate, which config.yaml cannot hold)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if is_dataclass(value):
            _numbers_and_text(value, f"{key}.")
        elif isinstance(value, float):
            require(math.isfinite(value), f"config: {key} must be a finite number, got {value}")
        else:
            for text in value if isinstance(value, list) else [value]:
                if isinstance(text, str):
                    _utf8(key, text)


def _utf8(key: str, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = text[exc.start]
        byte = f"byte 0x{ord(char) - 0xDC00:02x}" if 0xDC80 <= ord(char) <= 0xDCFF else f"U+{ord(char):04X}"
        raise UserError(f"config: {key} is not UTF-8 text ({byte} at character {exc.start + 1})") from None


_ABSENT = object()


def _value(cfg, key: str):
    """cfg's value at a dotted key, or _ABSENT."""
    for part in key.split("."):
        cfg = getattr(cfg, part, _ABSENT)
    return cfg


def bounds(cfg) -> dict[str, int]:
    """The entries of BOUNDS that apply to this config (its keys, dotted)."""
    return {key: most for key, most in BOUNDS.items() if _value(cfg, key) is not _ABSENT}


def _bounded(cfg) -> None:
    """The upper bounds of BOUNDS, then the rendered size they imply together (an SVG task renders its canvas at
    svg.render_scale x svg.samples)."""
    for key, most in bounds(cfg).items():
        obj = _value(cfg, key)
        if isinstance(obj, list):
            require(len(obj) <= most, f"config: {key} takes at most {most} values, got {len(obj)}")
        elif obj is not None:
            why = f" ({WHY[key]})" if key in WHY else ""
            require(obj <= most, f"config: {key} must be at most {most:,}{why}, got {obj:,}")
    svg = getattr(cfg, "svg", None)
    if svg is not None and hasattr(svg, "render_scale"):
        side = max(getattr(cfg, "height", None) or 0, getattr(cfg, "width", None) or 0) or MODEL_SIDE
        require(side * svg.render_scale * svg.samples <= SIDE,
                f"config: svg.render_scale x svg.samples ({svg.render_scale} x {svg.samples}) renders a {side} px "
                f"canvas {side * svg.render_scale * svg.samples:,} px wide, over the {SIDE:,} px limit "
                "(DREAMSAMPLER3D_MAX_PIXELS raises it)")


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
    _numbers_and_text(cfg)
    _component_problems(cfg)
    _bounded(cfg)
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
