"""DDIM inversion: run the deterministic sampler backwards so that sampling returns the input latent."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .ddim import noise_to, tweedie
from .protocols import Denoiser
from .schedule import Schedule


def ddim_invert(denoiser: Denoiser, schedule: Schedule, z0: Tensor, cond: Any, fixed_point_iters: int = 0) -> Tensor:
    """z0 [B, C, h, w] -> z at schedule.timesteps[0].

    Plain DDIM inversion evaluates eps at the less noisy latent (eps(z_prev, t) ~ eps(z_t, t)). With
    ``fixed_point_iters`` > 0 each step is refined by fixed-point iteration towards the z_t whose own DDIM step
    lands exactly on z_prev, which makes the round trip exact where the iteration converges.
    """
    z = z0
    for i in reversed(range(len(schedule))):
        t, a, a_prev = schedule.at(i)
        eps = denoiser.eps(z, t, [cond])[0]
        z_t = noise_to(tweedie(z, eps, a_prev), eps, a)
        for _ in range(fixed_point_iters):
            eps = denoiser.eps(z_t, t, [cond])[0]
            z_t = noise_to(tweedie(z, eps, a_prev), eps, a)
        z = z_t
    return z
