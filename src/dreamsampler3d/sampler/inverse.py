"""DreamSampler for linear inverse problems (inpainting, super-resolution, deblurring), one step at a time.

Reference recipe: on DreamSampler steps, CG data consistency in pixel space, re-encode and blend, text
guidance in the unobserved regions, renoise with eta_t = alpha_t; on the other steps latent DPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import Tensor

from .cg import project_onto_measurement
from .consistency import data_consistent_latent, dps_step, region_guidance
from .dreamsampler import DreamSampler, SamplerConfig
from .operators import LinearOperator
from .protocols import Denoiser, LatentCodec
from .schedule import Schedule


@dataclass
class InverseConfig:
    guidance: float = 1.0  # weight w in region guidance, times alpha_t
    mu: float = 1e-4  # CG proximal weight
    cg_iters: int = 10
    eta: float = 1.0  # eta_t = eta * alpha_t
    dreamsampler_every: int = 3  # a DreamSampler step every k-th step ...
    dreamsampler_until: float = 0.85  # ... for this fraction of the run; latent DPS otherwise
    dps_scale: float = 1.0

    def problems(self) -> list[str]:
        """What is wrong with these values, as 'key: message' lines (config.validate reports the first)."""
        out = []
        if not self.guidance >= 0:
            out.append(f"guidance must be >= 0, got {self.guidance}")
        if not (self.cg_iters >= 0 and self.mu > 0):
            out.append(f"cg_iters must be >= 0 and mu > 0, got {self.cg_iters} and {self.mu}")
        if not 0.0 <= self.eta <= 1.0:
            out.append(f"eta must lie in [0, 1], got {self.eta}")
        if self.dreamsampler_every < 1:
            out.append(f"dreamsampler_every must be >= 1, got {self.dreamsampler_every}")
        if not 0.0 <= self.dreamsampler_until <= 1.0:
            out.append(f"dreamsampler_until must lie in [0, 1], got {self.dreamsampler_until}")
        if not self.dps_scale >= 0:
            out.append(f"dps_scale must be >= 0, got {self.dps_scale}")
        return out


class InverseSampler:
    """Per step: ``step(z_t, i) -> z_prev``; ``finish(z0) -> x`` applies a last pixel-space projection
    (cg.project_onto_measurement)."""

    def __init__(self, model: Any, schedule: Schedule, op: LinearOperator, y: Tensor, null: Any,
                 region_conds: Sequence[Any], fill_masks: Tensor, config: InverseConfig | None = None,
                 generator: torch.Generator | None = None):
        self.model: Denoiser | LatentCodec = model
        self.op, self.y, self.null = op, y, null
        self.config = config or InverseConfig()
        self.fill = fill_masks  # [K, 1, 1, h, w]
        sampler_cfg = SamplerConfig(guidance=0.0, renoise="unconditional", eta=self.config.eta, eta_schedule="alpha")
        self.sampler = DreamSampler(model, schedule, null, region_conds, sampler_cfg, generator)
        self.schedule = schedule

    def is_dreamsampler_step(self, i: int) -> bool:
        n = len(self.schedule)
        return i < self.config.dreamsampler_until * n and i % self.config.dreamsampler_every == 0

    def _regularise(self, p) -> Tensor:
        cfg = self.config
        z_b, _ = data_consistent_latent(self.model, self.op, self.y, p.z0_null, p.alpha, cfg.mu, cfg.cg_iters)
        if p.z0_conds.shape[0] == 0:
            return z_b
        return region_guidance(z_b, p.z0_conds, self.fill, cfg.guidance * p.alpha)

    def step(self, z_t: Tensor, i: int) -> Tensor:
        if self.is_dreamsampler_step(i):
            with torch.no_grad():
                z_prev, _ = self.sampler.step(z_t, i, self._regularise)
            return z_prev
        t, a, a_prev = self.schedule.at(i)
        return dps_step(self.model, self.model, self.op, self.y, z_t, t, a, a_prev, self.null, self.config.dps_scale)

    @torch.no_grad()
    def finish(self, z0: Tensor) -> Tensor:
        """Decode and project onto the measurements once more: the observed data stays observed."""
        return project_onto_measurement(self.op, self.y, self.model.decode(z0), self.config.mu, self.config.cg_iters)

    @torch.no_grad()
    def finish_mean(self, z0: Tensor) -> Tensor:
        """Samples of one measurement [N, C, h, w] -> their mean [1, 3, H, W], projected as ``finish`` does: where
        the measurement does not pin a detail down (sr8 from 8 px) the samples disagree, and their mean is the
        closer estimate on average."""
        return project_onto_measurement(self.op, self.y, mean_decoded(self.model, z0), self.config.mu,
                                        self.config.cg_iters)


def mean_decoded(codec: LatentCodec, z: Tensor) -> Tensor:
    """The mean [1, 3, H, W] of the decoded latents [N, C, h, w], decoded one at a time (N large images at once
    would hold N times the autoencoder's activations)."""
    total = codec.decode(z[:1])
    for k in range(1, z.shape[0]):
        total = total + codec.decode(z[k:k + 1])
    return total / z.shape[0]
