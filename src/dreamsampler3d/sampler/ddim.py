"""Tweedie's formula, DDIM steps and renoising: the few lines every sampler here is made of."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def tweedie(z_t: Tensor, eps: Tensor, alpha: float) -> Tensor:
    """Denoised estimate z0_hat = (z_t - sqrt(1 - a) eps) / sqrt(a)."""
    return (z_t - math.sqrt(1.0 - alpha) * eps) / math.sqrt(alpha)


def noise_to(z0: Tensor, eps: Tensor, alpha: float) -> Tensor:
    """Forward process at level alpha: z_t = sqrt(a) z0 + sqrt(1 - a) eps."""
    return math.sqrt(alpha) * z0 + math.sqrt(1.0 - alpha) * eps


def renoise(
    z0: Tensor, eps: Tensor, alpha_prev: float, eta: float = 0.0, generator: torch.Generator | None = None
) -> Tensor:
    """DreamSampler's step 4: eps_tilde = sqrt(1 - eta) eps + sqrt(eta) xi; z_prev = noise_to(z0, eps_tilde)."""
    if eta > 0.0:
        xi = torch.randn(z0.shape, generator=generator, dtype=z0.dtype).to(z0.device)  # CPU RNG: same noise on any device
        eps = math.sqrt(1.0 - eta) * eps + math.sqrt(eta) * xi
    return noise_to(z0, eps, alpha_prev)


def ddim_step(z_t: Tensor, eps: Tensor, alpha: float, alpha_prev: float) -> Tensor:
    """Deterministic DDIM (eta = 0) from level alpha to alpha_prev."""
    return noise_to(tweedie(z_t, eps, alpha), eps, alpha_prev)


def v_to_eps(v: Tensor, z_t: Tensor, alpha: float) -> Tensor:
    """v-prediction to epsilon: eps = sqrt(a) v + sqrt(1 - a) z_t."""
    return math.sqrt(alpha) * v + math.sqrt(1.0 - alpha) * z_t
