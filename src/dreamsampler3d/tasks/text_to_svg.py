"""Text-to-SVG: DreamSampler with the SVG rasteriser as external generator (or the SDS / VectorFusion
baseline on the same generator and budget)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..generators.svg import SVGConfig, SVGGenerator
from ..sampler.distillation import SDS, Prompts
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from .external import external_step
from .svg_base import SVGTask


@dataclass
class TextToSVGOptions:
    prompt: str = ""
    method: str = "dreamsampler"  # or sds
    inner_steps: int = 4  # optimiser steps on the paths per sampler step
    sampler: SamplerConfig = field(default_factory=lambda: SamplerConfig(guidance=7.5, renoise="unconditional", eta=0.0))
    sds_guidance: float = 50.0
    svg: SVGConfig = field(default_factory=SVGConfig)
    output_size: int = 512  # result.svg's width and height
    video_every: int = 2  # sampler steps between video frames (0: no video)


class TextToSVGTask(SVGTask):
    def __init__(self, prior, options: TextToSVGOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        size = prior.default_size
        generator = torch.Generator().manual_seed(seed + 1)
        svg = SVGGenerator.random(options.svg, size, size, generator)
        super().__init__(prior, svg, num_steps, seed, options.output_size, options.video_every)
        self.options = o = options
        self.size = size
        null, cond = prior.encode_text(negative_prompt), prior.encode_text(o.prompt)
        schedule = prior.schedule(num_steps)
        self.sampler = DreamSampler(prior, schedule, null, [cond], o.sampler, self.generator)
        self.sds = SDS(prior, schedule, Prompts(null=null, target=cond), o.sds_guidance, generator=self.generator)

    def fit(self, target: Tensor) -> Tensor:
        return self.fit_latents(target, self.options.inner_steps)

    def initial_state(self) -> dict[str, Tensor]:
        return {"z": self.randn(1, *self.prior.latent_shape(self.size, self.size))}

    def advance(self, i: int) -> dict[str, float]:
        if self.options.method == "sds":
            for _ in range(self.options.inner_steps):
                z = self.latents()
                loss = 0.5 * (z - self.sds.target(z)).pow(2).sum()
                self.optimiser_step(loss)
            loss = loss.detach()
        else:
            self.state["z"], loss = external_step(self.sampler, self.state["z"], i, self.fit, self.latents)
        self.record_frame(i)
        return {"loss": float(loss)}
