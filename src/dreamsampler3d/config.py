"""Typed run configurations: one dataclass per task, strict (unknown keys and bad values are errors).

Values are merged in this order: dataclass defaults, ``configs/<task>.yaml``, ``--config FILE``,
``key=value`` overrides, explicit flags (``--steps`` ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any, List, Optional

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .errors import UserError
from .priors.embedded import EMBEDDED
from .sampler.inverse import InverseConfig
from .tasks.edit import METHODS, EditOptions
from .tasks.generate import GenerateOptions
from .tasks.text_to_3d import TextTo3DOptions
from .tasks.edit_svg import EDIT_METHODS, EditSVGOptions
from .tasks.restore_svg import METHODS as RESTORE_SVG_METHODS, RestoreSVGOptions
from .tasks.text_to_svg import METHODS as SVG_METHODS, TextToSVGOptions
from .tasks.vectorize import METHODS as VECTORIZE_METHODS, VectorizeOptions


@dataclass
class PriorConfig:
    model: str = EMBEDDED  # a diffusers folder, a hub id, or 'embedded'
    dtype: str = "auto"  # auto (fp32 on CPU, fp16 on CUDA), fp32, fp16, bf16
    device: str = "auto"
    negative_prompt: str = ""


@dataclass
class RunConfig:
    steps: int = 50
    seed: int = 0
    out: str = "outputs/run"
    snapshot_every: int = 10  # 0: no snapshots
    overwrite: bool = False  # --out may hold a previous run's files: replace them
    checkpoint_every: int = 10  # sampler steps between checkpoints (0: none)
    resume: Optional[str] = None
    progress: bool = True


@dataclass
class _Common:
    prior: PriorConfig = field(default_factory=PriorConfig)
    run: RunConfig = field(default_factory=RunConfig)


@dataclass
class GenerateConfig(_Common, GenerateOptions):
    pass


@dataclass
class EditConfig(_Common, EditOptions):
    image: str = ""
    height: Optional[int] = None
    width: Optional[int] = None


@dataclass
class InpaintConfig(_Common):
    image: str = ""
    masks: List[str] = field(default_factory=list)  # white = fill, black = keep; one prompt each
    prompts: List[str] = field(default_factory=list)
    height: Optional[int] = None
    width: Optional[int] = None
    sampler: InverseConfig = field(default_factory=InverseConfig)


@dataclass
class RestoreConfig(_Common):
    image: str = ""  # the degraded image (low resolution for sr4 / sr8)
    degradation: str = "sr4"
    mask: Optional[str] = None  # for degradation=inpaint
    prompts: List[str] = field(default_factory=list)  # optional
    height: Optional[int] = None  # restored size (default: the model's native size)
    width: Optional[int] = None
    blur_sigma: float = 2.0
    noise_sigma: float = 0.0
    sampler: InverseConfig = field(default_factory=lambda: InverseConfig(guidance=0.2))


@dataclass
class TextTo3DConfig(_Common, TextTo3DOptions):
    pass


@dataclass
class TextToSVGConfig(_Common, TextToSVGOptions):
    pass


@dataclass
class VectorizeConfig(_Common, VectorizeOptions):
    image: str = ""
    height: Optional[int] = None  # default: the image's own size
    width: Optional[int] = None


@dataclass
class RestoreSVGConfig(_Common, RestoreSVGOptions):
    image: str = ""  # the degraded image (low resolution for sr4 / sr8)
    degradation: str = "sr4"
    mask: Optional[str] = None
    prompts: List[str] = field(default_factory=list)
    height: Optional[int] = None  # restored canvas (default: the model's native size)
    width: Optional[int] = None
    blur_sigma: float = 2.0
    noise_sigma: float = 0.0


@dataclass
class EditSVGConfig(_Common, EditSVGOptions):
    svg_file: str = ""  # the SVG to edit (--svg)


CONFIGS = {"generate": GenerateConfig, "edit": EditConfig, "inpaint": InpaintConfig, "restore": RestoreConfig,
           "text-to-3d": TextTo3DConfig, "text-to-svg": TextToSVGConfig, "vectorize": VectorizeConfig,
           "restore-svg": RestoreSVGConfig, "edit-svg": EditSVGConfig}
DEGRADATIONS = ("sr4", "sr8", "blur", "inpaint", "noise")


def default_yaml(task: str) -> Path | None:
    path = Path(str(resources.files("dreamsampler3d") / "configs" / f"{task}.yaml"))
    return path if path.is_file() else None


def _fail(exc: OmegaConfBaseException) -> UserError:
    key = getattr(exc, "full_key", None)
    msg = str(exc).splitlines()[0]
    return UserError(f"config: {msg}" + (f" (key '{key}')" if key and key not in msg else ""))


def build_config(task: str, config_file: str | None = None, overrides: list[str] = (), flags: dict[str, Any] | None = None):
    """The resolved, validated dataclass for ``task``."""
    if task not in CONFIGS:
        raise UserError(f"unknown task {task!r}")
    schema = OmegaConf.structured(CONFIGS[task])
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
    validate(task, cfg)
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


def to_yaml(cfg) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise UserError(message)


def _finite_floats(obj, prefix: str = "") -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            _finite_floats(value, f"{prefix}{f.name}.")
        elif isinstance(value, float):
            _check(math.isfinite(value), f"config: {prefix}{f.name} must be a finite number, got {value}")


def validate(task: str, cfg) -> None:
    """Value checks a type system cannot express; each failure names its key."""
    _finite_floats(cfg)
    run = cfg.run
    _check(run.steps >= 1, f"config: run.steps must be >= 1, got {run.steps}")
    _check(0 <= run.seed < 2**32, f"config: run.seed must lie in 0..{2**32 - 1}, got {run.seed}")
    device = cfg.prior.device
    _check(device in ("auto", "cpu", "cuda") or (device.startswith("cuda:") and device[5:].isdigit()),
           f"config: prior.device must be auto, cpu, cuda or cuda:N, got {device!r}")
    _check(run.snapshot_every >= 0, f"config: run.snapshot_every must be >= 0, got {run.snapshot_every}")
    _check(run.checkpoint_every >= 0, f"config: run.checkpoint_every must be >= 0, got {run.checkpoint_every}")
    _check(cfg.prior.dtype in ("auto", "fp32", "fp16", "bf16"), f"config: prior.dtype must be auto, fp32, fp16 or bf16, got {cfg.prior.dtype!r}")
    for key in ("height", "width"):
        value = getattr(cfg, key, None)
        _check(value is None or value > 0, f"config: {key} must be positive, got {value}")
    if task == "generate":
        _check(cfg.prompt.strip() != "", "config: prompt is required (--prompt TEXT)")
        s = cfg.sampler
        _check(s.renoise in ("unconditional", "guided"),
               f"config: sampler.renoise must be unconditional or guided, got {s.renoise!r}")
        _check(s.omega_schedule in ("constant", "alpha", "one_minus_alpha"), f"config: sampler.omega_schedule: unknown {s.omega_schedule!r}")
        _check(s.eta_schedule in ("constant", "alpha") and 0.0 <= s.eta <= 1.0, f"config: sampler.eta must lie in [0, 1], got {s.eta}")
    if task == "edit":
        _check(cfg.prompt.strip() != "", "config: prompt is required (--prompt TEXT)")
        _check(cfg.method in METHODS, f"config: method must be one of {', '.join(METHODS)}, got {cfg.method!r}")
        _check(cfg.omega_schedule in ("constant", "alpha", "one_minus_alpha"), f"config: omega_schedule: unknown {cfg.omega_schedule!r}")
        _check(cfg.inversion_fixed_point_iters >= 0, "config: inversion_fixed_point_iters must be >= 0")
    if task in ("edit", "inpaint", "restore", "vectorize", "restore-svg"):
        _check(cfg.image != "", "config: image is required (--image FILE)")
    if task == "edit-svg":
        _check(cfg.svg_file != "", "config: an SVG is required (--svg FILE)")
        _check(cfg.prompt.strip() != "", "config: prompt is required (--prompt TEXT)")
        _check(cfg.method in EDIT_METHODS, f"config: method must be one of {', '.join(EDIT_METHODS)}, got {cfg.method!r}")
        _check(0.0 < cfg.init_at < 1.0, f"config: init_at must lie in (0, 1), got {cfg.init_at}")
        _check(cfg.inner_steps >= 1, f"config: inner_steps must be >= 1, got {cfg.inner_steps}")
        _check(cfg.pixel_weight >= 0, f"config: pixel_weight must be >= 0, got {cfg.pixel_weight}")
        _check(0.0 < cfg.keep_iou <= 1.0, f"config: keep_iou must lie in (0, 1], got {cfg.keep_iou}")
        _check(len(cfg.baseline_t_range) == 2 and 0 <= cfg.baseline_t_range[0] < cfg.baseline_t_range[1] <= 1,
               f"config: baseline_t_range must be [low, high] within [0, 1], got {cfg.baseline_t_range}")
    if task in ("text-to-svg", "vectorize", "restore-svg", "edit-svg"):
        v = cfg.svg
        _check(v.num_paths >= 1, f"config: svg.num_paths must be >= 1, got {v.num_paths}")
        _check(v.segments >= 2, f"config: svg.segments must be >= 2, got {v.segments}")
        _check(v.init in ("prior", "blobs", "grid"), f"config: svg.init must be prior, blobs or grid, got {v.init!r}")
        _check(cfg.output_size >= 1, "config: output_size must be >= 1")
        _check(v.render_scale >= 1 and v.samples >= 1, "config: svg.render_scale and svg.samples must be >= 1")
        _check(v.colours >= 2, f"config: svg.colours must be >= 2, got {v.colours}")
        _check(v.fit_tolerance > 0, f"config: svg.fit_tolerance must be > 0, got {v.fit_tolerance}")
        _check(0 <= v.decimals <= 6, f"config: svg.decimals must lie in 0..6, got {v.decimals}")
    if task == "vectorize":
        _check(cfg.method in VECTORIZE_METHODS, f"config: method must be fit or trace, got {cfg.method!r}")
    if task == "text-to-svg":
        _check(cfg.prompt.strip() != "", "config: prompt is required (--prompt TEXT)")
        _check(cfg.method in SVG_METHODS, f"config: method must be one of {', '.join(SVG_METHODS)}, got {cfg.method!r}")
        _check(cfg.inner_steps >= 1, "config: inner_steps must be >= 1")
        _check(0.0 < cfg.init_at < 1.0, f"config: init_at must lie in (0, 1), got {cfg.init_at}")
        _check(cfg.pixel_weight >= 0, f"config: pixel_weight must be >= 0, got {cfg.pixel_weight}")
        _check(cfg.prior_guidance >= 0, f"config: prior_guidance must be >= 0, got {cfg.prior_guidance}")
    if task == "inpaint":
        _check(len(cfg.masks) >= 1, "config: at least one mask is required (--mask FILE)")
        _check(len(cfg.prompts) in (1, len(cfg.masks)),
               f"config: give one prompt, or one per mask ({len(cfg.masks)} masks, {len(cfg.prompts)} prompts)")
    if task == "restore-svg":
        _check(cfg.method in RESTORE_SVG_METHODS,
               f"config: method must be one of {', '.join(RESTORE_SVG_METHODS)}, got {cfg.method!r}")
        _check(0.0 < cfg.strength <= 1.0, f"config: strength must lie in (0, 1], got {cfg.strength}")
        _check(cfg.rho >= 0 and cfg.inner_steps >= 1, "config: rho must be >= 0 and inner_steps >= 1")
        _check(cfg.mu > 0 and cfg.cg_iters >= 1, f"config: mu must be > 0 and cg_iters >= 1, got {cfg.mu}, {cfg.cg_iters}")
    if task in ("restore", "restore-svg"):
        _check(cfg.degradation in DEGRADATIONS, f"config: degradation must be one of {', '.join(DEGRADATIONS)}, got {cfg.degradation!r}")
        _check(cfg.degradation != "inpaint" or cfg.mask, "config: degradation=inpaint needs --mask FILE")
        _check(cfg.blur_sigma > 0 and cfg.noise_sigma >= 0, "config: blur_sigma must be > 0 and noise_sigma >= 0")
    if task == "text-to-3d":
        _check(cfg.prompt.strip() != "", "config: prompt is required (--prompt TEXT)")
        _check(cfg.method in ("dreamsampler", "sds"), f"config: method must be dreamsampler or sds, got {cfg.method!r}")
        _check(cfg.trajectory in ("fixed", "annealed"), f"config: trajectory must be fixed or annealed, got {cfg.trajectory!r}")
        _check(cfg.view_prompts in ("auto", "on", "off"), f"config: view_prompts must be auto, on or off, got {cfg.view_prompts!r}")
        _check(cfg.views >= 1 and 1 <= cfg.views_per_step, "config: views and views_per_step must be >= 1")
        _check(cfg.views_per_step <= cfg.views or cfg.method == "sds", "config: views_per_step must be <= views")
        _check(cfg.inner_steps >= 1 and cfg.render_size >= 8, "config: inner_steps must be >= 1 and render_size >= 8")
        for key in ("elevation", "fov", "distance"):
            v = getattr(cfg, key)
            _check(len(v) == 2 and v[0] <= v[1], f"config: {key} must be a [low, high] pair, got {v}")
        _check(all(f in ("glb", "obj", "ply") for f in cfg.mesh_formats), f"config: mesh_formats: glb, obj, ply, got {cfg.mesh_formats}")
    if task in ("inpaint", "restore"):
        s = cfg.sampler
        _check(s.cg_iters >= 0 and s.mu > 0, "config: sampler.cg_iters must be >= 0 and sampler.mu > 0")
        _check(s.dreamsampler_every >= 1, "config: sampler.dreamsampler_every must be >= 1")
        _check(0.0 <= s.eta <= 1.0, f"config: sampler.eta must lie in [0, 1], got {s.eta}")
