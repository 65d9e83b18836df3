"""Inpainting and restoration: one task over a degradation operator, measurements and text regions."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from ..io.images import psnr, to_uint8
from ..sampler.inverse import InverseConfig, InverseSampler, mean_decoded
from ..sampler.operators import LinearOperator
from .base import SamplingTask
from .full_size import paste_back


@dataclass
class InverseOptions:
    prompts: list[str] = field(default_factory=list)  # one per fill region (inpainting), or one global prompt
    sampler: InverseConfig = field(default_factory=InverseConfig)
    samples: int = 1  # restorations run together; the result is their mean (InverseSampler.finish_mean)


def latent_regions(fill: Tensor, latent_hw: tuple[int, int]) -> Tensor:
    """Pixel fill masks [K, 1, H, W] -> latent masks [K, 1, 1, h, w]: a latent cell is filled if any pixel is."""
    return F.adaptive_max_pool2d(fill, latent_hw).unsqueeze(1)


class InverseProblemTask(SamplingTask):
    def __init__(self, prior, op: LinearOperator, y: Tensor, size: tuple[int, int], fill: Tensor,
                 options: InverseOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        """y: measurement in [-1, 1]; size: (H, W) of the restored image; fill: [K, 1, H, W] regions that
        receive text guidance (all-ones for a global prompt, the masks for inpainting)."""
        super().__init__(prior, num_steps, seed)
        self.op, self.y, self.options = op, y.to(prior.device), options
        self.height, self.width = size
        self.latent_shape = prior.latent_shape(self.height, self.width)
        conds = [prior.encode_text(p) for p in options.prompts]
        fill = fill[: len(conds)].to(prior.device)
        regions = latent_regions(fill, self.latent_shape[1:]) if conds else torch.zeros(0, 1, 1, 1, 1)
        self.sampler = InverseSampler(prior, prior.schedule(num_steps), op, self.y, prior.encode_text(negative_prompt),
                                      conds, regions, options.sampler, self.generator)
        self.full_input, self.full_region = None, None  # inpainting: the input at its size and the filled region
        self.full_box = None  # ... and the window of it the work was done on (full_size.mask_window)

    def full_result(self, result: Tensor) -> Tensor:
        """Inpainting: the input at its own size, the filled region from the result (tasks/full_size.py)."""
        if self.full_input is None:
            return result
        return paste_back(self.full_input, result, self.full_region.to(result.device), self.full_box)

    def initial_state(self) -> dict[str, Tensor]:
        return {"z": self.randn(self.options.samples, *self.latent_shape)}

    def advance(self, i: int) -> dict[str, float]:
        self.state["z"] = self.sampler.step(self.state["z"], i)
        return {"dreamsampler_step": float(self.sampler.is_dreamsampler_step(i))}

    @torch.no_grad()
    def render(self) -> Tensor:
        if self.finished:
            return self.sampler.finish_mean(self.state["z"])
        return self.decoded()

    @torch.no_grad()
    def decoded(self) -> Tensor:
        """The samples' mean [1, 3, H, W] before the last projection."""
        return mean_decoded(self.prior, self.state["z"])

    @torch.no_grad()
    def measurement_psnr(self, result: Tensor) -> float:
        """PSNR of A(result) against y: how well the output explains what was observed."""
        return psnr(to_uint8(self.op.forward(result)), to_uint8(self.y))


def observed_region_psnr(result: Tensor, image: Tensor, observed: Tensor) -> float:
    """PSNR over the kept (observed) pixels only. observed [1, 1, H, W] in {0, 1}."""
    return psnr(to_uint8(result), to_uint8(image), observed[0, 0].cpu().numpy() > 0.5)
