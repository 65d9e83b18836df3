"""Turn a validated config into a ready task: read and check inputs, then the task's ``TaskSpec.build``, with
the pieces several builds share (working size, resizing, masks, the degradation's measurement).

Everything that can fail on bad input happens here, before any output file exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from lightning.pytorch import seed_everything
from PIL import Image

from ..errors import UserError
from ..io.images import load_image, load_mask, to_tensor
from ..sampler.operators import make_operator
from .base import SamplingTask
from .full_size import crop_window
from .registry import get


@dataclass
class Inputs:
    """Loaded inputs and notes for the user (e.g. 'resized')."""

    source: Any = None  # what read_inputs read: the input image (PIL) or SVG scene; None for prompt-only tasks
    image: torch.Tensor | None = None  # [1, 3, H, W] in [-1, 1] at working size
    masks: torch.Tensor | None = None  # [K, 1, H, W] fill masks at working size
    notes: list[str] = field(default_factory=list)


def load_svg_input(path: str):
    """An SVG with at least one drawable shape, or a one-line error."""
    from ..renderers.svg.svg_io import load_svg

    scene = load_svg(path)
    if not any(s.paths and (s.fill is not None or s.stroke is not None) for s in scene.shapes):
        raise UserError(f"--svg {path}: the SVG has no shapes to edit")
    return scene


def working_size(cfg, prior) -> tuple[int, int]:
    h = cfg.height or prior.default_size
    w = cfg.width or prior.default_size
    prior.latent_shape(h, w)  # raises a UserError for sizes the model cannot take
    return h, w


def resize(img: Image.Image, size: tuple[int, int], what: str, notes: list[str], resample=Image.BICUBIC,
           result_note: bool = False) -> Image.Image:
    """img at size (h, w); a note says so when it changed (`result_note`: and that result.png keeps the input's
    size, the change being brought back to it)."""
    h, w = size
    if img.size != (w, h):
        note = f"{what} resized from {img.size[0]}x{img.size[1]} to the model's {w}x{h}"
        if result_note:
            note += f"; result.png is {img.size[0]}x{img.size[1]}, the input's pixels wherever nothing changed"
        notes.append(note)
        img = img.resize((w, h), resample)
    return img


def load_masks(paths: list[str], image: Image.Image, size: tuple[int, int], notes: list[str],
               box: tuple[int, int, int, int] | None = None) -> torch.Tensor:
    """The fill masks [K, 1, h, w] at the working size; with a ``box`` (left, top, right, bottom), that window's."""
    out = []
    for path in paths:
        m = load_mask(path, image.size)
        if m.max() == 0:
            raise UserError(f"mask {path}: empty (no white pixels to fill)")
        if box is not None:
            m = crop_window(m, box)
        what = f"mask {path}" + (" (its window)" if box is not None else "")
        pil = resize(Image.fromarray((m * 255).astype(np.uint8)), size, what, notes, Image.NEAREST)
        out.append(torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0)[None])
    return (torch.stack(out) > 0.5).float()  # [K, 1, H, W]


def full_size_masks(paths: list[str], image: Image.Image) -> torch.Tensor:
    """The union of the fill masks at the image's own size, [1, 1, H, W] in {0, 1}."""
    union = np.zeros((image.size[1], image.size[0]), np.float32)
    for path in paths:
        union = np.maximum(union, (load_mask(path, image.size) > 0.5).astype(np.float32))
    return torch.from_numpy(union)[None, None]


def read_inputs(task: str, cfg) -> tuple[Any, list[str]]:
    """Cheap checks that need no model: the image opens, the SVG parses. (Masks are checked in ``build_task``.)"""
    inputs = get(task).inputs
    if "svg" in inputs:
        return load_svg_input(cfg.svg_file), []
    if "image" not in inputs:
        return None, []
    notes: list[str] = []
    return load_image(cfg.image, notes), notes


def build_task(task: str, cfg, prior, source: Any = None) -> tuple[SamplingTask, Inputs, Callable[[torch.Tensor], dict]]:
    """The LightningModule, its inputs, and a function result -> task-specific metrics (``source``: what
    ``read_inputs`` read)."""
    inputs = Inputs(source=source)
    # Parameters initialised from the global generators (a NeRF's planes and MLP) follow run.seed on every path that
    # builds a task (CLI, batch, UI, benchmarks, library calls), not only where the CLI happened to seed.
    seed_everything(cfg.run.seed, verbose=False)
    module, metrics = get(task).build(cfg, prior, inputs)
    return module, inputs, metrics


def factor_of(degradation: str) -> int:
    """How many times larger the clean picture is than the measurement (sr4: 4; the others: 1)."""
    return int(degradation[2:]) if degradation in ("sr4", "sr8") else 1


@dataclass
class FullMeasurement:
    """The degradation at the input's own resolution: y [1, 3, h, w] as given (down-scaled only past ``limit``),
    its operator, and the clean picture's size (h, w) x the super-resolution factor."""

    op: Any
    y: torch.Tensor
    clean_size: tuple[int, int]


def full_measurement(cfg, image: Image.Image, inputs: Inputs, limit: int = 512) -> FullMeasurement:
    """Where resolution-free tasks (an SVG renders at any size) compare their result with what the user gave:
    nothing is shrunk to the model's working size. The clean picture's long side stays within ``limit``."""
    f = factor_of(cfg.degradation)
    w, h = image.size
    shrink = min(1.0, limit / (f * max(w, h)))
    size = (max(1, round(h * shrink)), max(1, round(w * shrink)))
    if shrink < 1:
        inputs.notes.append(f"degraded image fitted from {w}x{h} down to {size[1]}x{size[0]} (the restored picture "
                            f"is at most {limit} px)")
    observed = None
    if cfg.degradation == "inpaint":
        m = full_size_masks([cfg.mask], image)  # [1, 1, H, W]
        observed = 1.0 - torch.nn.functional.interpolate(m, size=size, mode="nearest")
    sigma = cfg.blur_sigma * shrink
    op = make_operator(cfg.degradation, observed=observed, blur_sigma=sigma, noise_sigma=cfg.noise_sigma)
    y = to_tensor(image.resize((size[1], size[0]), Image.BOX) if shrink < 1 else image)
    if observed is not None:
        y = op.forward(y)
    return FullMeasurement(op, y, (size[0] * f, size[1] * f))


def measurement(cfg, size: tuple[int, int], image: Image.Image, inputs: Inputs, blur_sigma: float | None = None):
    """The degradation operator, the measurement y [1, 3, h, w] and the observed mask (inpainting) or None, at
    the model's working ``size`` (``blur_sigma`` in working-size pixels; default: the config's)."""
    observed = None
    if cfg.degradation == "inpaint":
        observed = 1.0 - load_masks([cfg.mask], image, size, inputs.notes)
        if observed.sum() == 0:
            raise UserError(f"mask {cfg.mask}: covers the whole image, nothing is observed")
    sigma = cfg.blur_sigma if blur_sigma is None else blur_sigma
    op = make_operator(cfg.degradation, observed=observed, blur_sigma=sigma, noise_sigma=cfg.noise_sigma)
    mh, mw = op.measurement_shape(*size)
    y = to_tensor(resize(image, (mh, mw), "degraded image", inputs.notes))
    if observed is not None:
        y = op.forward(y)  # whatever the holes hold is not a measurement
    return op, y, observed
