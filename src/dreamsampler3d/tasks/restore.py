"""Restoration of a degraded image (super-resolution, deblurring, denoising, hole filling): the inverse-problem
task over the degradation's operator, with an optional global prompt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import torch

from ..config_base import Common
from ..errors import require
from ..sampler.inverse import InverseConfig
from .inverse_problem import InverseOptions, InverseProblemTask
from .prepare import measurement, working_size
from .registry import TaskSpec, register


@dataclass
class RestoreConfig(Common):
    image: str = ""  # the degraded image (low resolution for sr4 / sr8)
    degradation: str = "sr4"
    mask: Optional[str] = None  # for degradation=inpaint
    prompts: List[str] = field(default_factory=list)  # optional
    height: Optional[int] = None  # restored size (default: the model's native size)
    width: Optional[int] = None
    blur_sigma: float = 2.0
    noise_sigma: float = 0.0
    sampler: InverseConfig = field(default_factory=lambda: InverseConfig(guidance=0.2))
    samples: Optional[int] = None  # restorations averaged into the result (default: SAMPLES_SR8 for sr8, else 1)


# From 8 px (sr8) one sample's details are a guess; the mean of eight was closer to the clean icon than bicubic on
# more real icons than one sample (docs/dreamsampler.md, "The last projection").
SAMPLES_SR8 = 8


def _resolve(cfg: RestoreConfig) -> None:
    if cfg.samples is None:
        cfg.samples = SAMPLES_SR8 if cfg.degradation == "sr8" else 1


def _check(cfg: RestoreConfig) -> None:
    require(cfg.samples is None or cfg.samples >= 1, f"config: samples must be >= 1, got {cfg.samples}")


def _build(cfg: RestoreConfig, prior, inputs):
    size = working_size(cfg, prior)
    op, y, observed = measurement(cfg, size, inputs.source, inputs)
    regions = (1.0 - observed) if observed is not None else torch.ones(1, 1, *size)
    t = InverseProblemTask(prior, op, y, size, regions, InverseOptions(list(cfg.prompts), cfg.sampler, cfg.samples), cfg.run.steps,
                           cfg.run.seed, cfg.prior.negative_prompt)
    # measured before the final pixel-space projection, which makes any result match the measurement
    return t, lambda result: {"measurement_psnr_db": t.measurement_psnr(t.decoded())}


register(TaskSpec(name="restore", help="super-resolve (sr4, sr8), deblur, denoise or inpaint a degraded image, optional prompt",
                  config=RestoreConfig, build=_build, inputs=("image", "mask", "degradation", "prompts"),
                  check=_check, resolve=_resolve, order=40,
                  about="--image is the degraded picture as you have it (for sr4 / sr8: the small one). The work is done "
                        "at the model's size (64 px for the embedded prior; height= and width= choose another): the "
                        "input is resized to that size's measurement (sr4: 16 px) with a note, and result.png is at "
                        "the model's size. restore-svg has no such limit: it fits the input at its own resolution. samples=N "
                        "averages N restorations (default 8 for sr8, whose 8 px input leaves details to guess; 1 "
                        "otherwise, the crispest).",
                  examples=("dreamsampler3d samples samples",
                            "dreamsampler3d restore --image samples/red-circle-16.png --degradation sr4 --out out/sr4")))
