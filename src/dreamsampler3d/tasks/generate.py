"""Text-to-image: DreamSampler from Gaussian noise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor

from ..config_base import Common
from ..errors import require
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from .base import SamplingTask
from .registry import TaskSpec, register


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


@dataclass
class GenerateConfig(Common, GenerateOptions):
    pass


def _check(cfg: GenerateConfig) -> None:
    s = cfg.sampler
    require(s.renoise in ("unconditional", "guided"),
            f"config: sampler.renoise must be unconditional or guided, got {s.renoise!r}")
    require(s.omega_schedule in ("constant", "alpha", "one_minus_alpha"), f"config: sampler.omega_schedule: unknown {s.omega_schedule!r}")
    require(s.eta_schedule in ("constant", "alpha") and 0.0 <= s.eta <= 1.0, f"config: sampler.eta must lie in [0, 1], got {s.eta}")


def _build(cfg: GenerateConfig, prior, inputs):
    return GenerateTask(prior, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt), lambda result: {}


register(TaskSpec(name="generate", help="text-to-image with DreamSampler", config=GenerateConfig, build=_build,
                  inputs=("prompt",), check=_check, batch=True, order=10,
                  about="The prior samples an image from the prompt with DreamSampler. The result has the prior's working "
                        "size (64 px for the embedded prior, 512 for SD 1.x); result.png, snapshots and metrics.json go "
                        "in --out.",
                  examples=('dreamsampler3d generate --prompt "a red star on a white background" --out out/star',)))
