"""Text-to-image: DreamSampler from Gaussian noise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor

from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from .base import SamplingTask


@dataclass
class GenerateOptions:
    prompt: str = ""
    height: Optional[int] = None  # default: the model's native size
    width: Optional[int] = None
    sampler: SamplerConfig = field(default_factory=SamplerConfig)


class GenerateTask(SamplingTask):
    def __init__(self, prior, options: GenerateOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        super().__init__(prior, num_steps, seed)
        self.options = options
        self.height = options.height or prior.default_size
        self.width = options.width or prior.default_size
        self.latent_shape = prior.latent_shape(self.height, self.width)
        self.sampler = DreamSampler(prior, prior.schedule(num_steps), prior.encode_text(negative_prompt),
                                    [prior.encode_text(options.prompt)], options.sampler, self.generator)

    def initial_state(self) -> dict[str, Tensor]:
        z = self.randn(1, *self.latent_shape)
        return {"z": z, "z0": torch.zeros_like(z)}

    @torch.no_grad()
    def advance(self, i: int) -> dict[str, float]:
        z, proposal = self.sampler.step(self.state["z"], i)
        self.state = {"z": z, "z0": proposal.target}
        return {"t": float(proposal.t)}

    @torch.no_grad()
    def render(self) -> Tensor:
        return self.prior.decode(self.state["z"] if self.finished else self.state["z0"])
