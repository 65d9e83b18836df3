"""Turn a validated config into a ready task: read and check inputs, build operators and regions.

Everything that can fail on bad input happens here, before any output file exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from PIL import Image

from ..errors import UserError
from ..io.images import load_image, load_mask, to_tensor
from ..sampler.operators import make_operator
from .base import SamplingTask
from .edit import EditTask
from .generate import GenerateTask
from .inverse_problem import InverseOptions, InverseProblemTask, observed_region_psnr
from .text_to_3d import TextTo3DTask
from .edit_svg import EditSVGTask
from .restore_svg import RestoreSVGTask
from .text_to_svg import TextToSVGTask
from .vectorize import VectorizeTask

PRIOR_FREE_TASKS = ("vectorize",)
VECTORIZE_MAX_SIDE = 512  # larger inputs are scaled down to this (height / width keys set the size yourself)


@dataclass
class Inputs:
    """Loaded inputs and notes for the user (e.g. 'resized')."""

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


def _working_size(cfg, prior) -> tuple[int, int]:
    h = cfg.height or prior.default_size
    w = cfg.width or prior.default_size
    prior.latent_shape(h, w)  # raises a UserError for sizes the model cannot take
    return h, w


def _resize(img: Image.Image, size: tuple[int, int], what: str, notes: list[str], resample=Image.BICUBIC) -> Image.Image:
    h, w = size
    if img.size != (w, h):
        notes.append(f"{what} resized from {img.size[0]}x{img.size[1]} to {w}x{h}")
        img = img.resize((w, h), resample)
    return img


def _masks(paths: list[str], image: Image.Image, size: tuple[int, int], notes: list[str]) -> torch.Tensor:
    out = []
    for path in paths:
        m = load_mask(path, image.size)
        if m.max() == 0:
            raise UserError(f"mask {path}: empty (no white pixels to fill)")
        pil = _resize(Image.fromarray((m * 255).astype(np.uint8)), size, f"mask {path}", notes, Image.NEAREST)
        out.append(torch.from_numpy(np.asarray(pil, dtype=np.float32) / 255.0)[None])
    return (torch.stack(out) > 0.5).float()  # [K, 1, H, W]


def read_inputs(task: str, cfg) -> tuple[Image.Image | None, list[str]]:
    """Cheap checks that need no model: the image opens, the SVG parses. (Masks are checked in ``build_task``.)"""
    if task in ("generate", "text-to-3d", "text-to-svg"):
        return None, []
    if task == "edit-svg":
        return load_svg_input(cfg.svg_file), []
    notes: list[str] = []
    return load_image(cfg.image, notes), notes


def build_task(task: str, cfg, prior, image: Image.Image | None) -> tuple[SamplingTask, Inputs, Callable[[torch.Tensor], dict]]:
    """The LightningModule, its inputs, and a function result -> task-specific metrics."""
    steps, seed, neg = cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt
    inputs = Inputs()
    if task == "generate":
        return GenerateTask(prior, cfg, steps, seed, neg), inputs, lambda result: {}
    if task == "edit-svg":
        return EditSVGTask(prior, image, cfg, steps, seed, neg), inputs, lambda result: {}
    if task == "text-to-svg":
        return TextToSVGTask(prior, cfg, steps, seed, neg), inputs, lambda result: {}
    if task == "vectorize":
        size = (cfg.height or image.size[1], cfg.width or image.size[0])
        if max(size) > VECTORIZE_MAX_SIDE:  # a photo: vectorise at a working size, not at 6000 x 6000
            k = VECTORIZE_MAX_SIDE / max(size)
            size = (max(1, round(size[0] * k)), max(1, round(size[1] * k)))
        inputs.image = to_tensor(_resize(image, size, "image", inputs.notes))
        t = VectorizeTask(prior, inputs.image, cfg, steps, seed)
        return t, inputs, lambda result: {"psnr_db": t.psnr(), "initial_psnr_db": float(t.state["initial_psnr"])}
    if task == "text-to-3d":
        embedded = cfg.prior.model == "embedded"
        return TextTo3DTask(prior, cfg, steps, seed, neg, embedded), inputs, lambda result: {}
    if task == "edit":
        size = _working_size(cfg, prior)
        inputs.image = to_tensor(_resize(image, size, "image", inputs.notes))
        return EditTask(prior, inputs.image, cfg, steps, seed, neg), inputs, lambda result: {}
    if task == "inpaint":
        size = _working_size(cfg, prior)
        inputs.masks = _masks(list(cfg.masks), image, size, inputs.notes)
        inputs.image = to_tensor(_resize(image, size, "image", inputs.notes))
        prompts = list(cfg.prompts) * (len(cfg.masks) if len(cfg.prompts) == 1 else 1)
        observed = 1.0 - inputs.masks.amax(0, keepdim=True)  # [1, 1, H, W]
        if observed.sum() == 0:
            raise UserError("the masks cover the whole image: nothing is left to keep")
        op = make_operator("inpaint", observed=observed)
        t = InverseProblemTask(prior, op, op.forward(inputs.image), size, inputs.masks,
                               InverseOptions(prompts, cfg.sampler), steps, seed, neg)
        def inpaint_metrics(result: torch.Tensor) -> dict:
            decoded = t.decoded()  # before the last pixel-space projection: what the latent trajectory kept
            return {"psnr_observed_db": observed_region_psnr(result, inputs.image, observed),
                    "psnr_observed_decoded_db": observed_region_psnr(decoded, inputs.image, observed)}

        return t, inputs, inpaint_metrics
    if task == "restore":
        return _build_restore(cfg, prior, image, inputs)
    if task == "restore-svg":
        return _build_restore_svg(cfg, prior, image, inputs)
    raise UserError(f"unknown task {task!r}")


def _measurement(cfg, size: tuple[int, int], image: Image.Image, inputs: Inputs):
    """The degradation operator, the measurement y [1, 3, h, w] and the observed mask (inpainting) or None."""
    observed = None
    if cfg.degradation == "inpaint":
        observed = 1.0 - _masks([cfg.mask], image, size, inputs.notes)
        if observed.sum() == 0:
            raise UserError(f"mask {cfg.mask}: covers the whole image, nothing is observed")
    op = make_operator(cfg.degradation, observed=observed, blur_sigma=cfg.blur_sigma, noise_sigma=cfg.noise_sigma)
    mh, mw = op.measurement_shape(*size)
    y = to_tensor(_resize(image, (mh, mw), "degraded image", inputs.notes))
    if observed is not None:
        y = op.forward(y)  # whatever the holes hold is not a measurement
    return op, y, observed


def _build_restore(cfg, prior, image: Image.Image, inputs: Inputs):
    size = _working_size(cfg, prior)
    steps, seed, neg = cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt
    op, y, observed = _measurement(cfg, size, image, inputs)
    regions = (1.0 - observed) if observed is not None else torch.ones(1, 1, *size)
    t = InverseProblemTask(prior, op, y, size, regions, InverseOptions(list(cfg.prompts), cfg.sampler), steps, seed, neg)
    return t, inputs, lambda result: {"measurement_psnr_db": t.measurement_psnr(result),
                                      "measurement_psnr_decoded_db": t.measurement_psnr(t.decoded())}


def _build_restore_svg(cfg, prior, image: Image.Image, inputs: Inputs):
    size = _working_size(cfg, prior)
    op, y, _ = _measurement(cfg, size, image, inputs)
    t = RestoreSVGTask(prior, op, y, size, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt)
    return t, inputs, lambda result: {"measurement_psnr_db": t.measurement_psnr(),
                                      "initial_measurement_psnr_db": float(t.state["initial_measurement_psnr"])}
