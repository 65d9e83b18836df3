"""Regularisers for inverse problems: CG data consistency, masked text guidance, latent DPS."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .cg import solve_data_consistency
from .ddim import ddim_step, tweedie
from .operators import LinearOperator
from .protocols import Denoiser, LatentCodec


def data_consistent_latent(codec: LatentCodec, op: LinearOperator, y: Tensor, z0_null: Tensor, alpha: float,
                           mu: float, iters: int) -> tuple[Tensor, Tensor]:
    """z_b = a E(x_cg) + (1 - a) z0_null, with x_cg the CG solution started at D(z0_null).

    Returns (z_b [B, C, h, w], x_cg [B, 3, H, W]).
    """
    x_cg = solve_data_consistency(op, y, codec.decode(z0_null), mu, iters)
    z_b = alpha * codec.encode(x_cg) + (1.0 - alpha) * z0_null
    return z_b, x_cg


def region_guidance(z_b: Tensor, z0_conds: Tensor, fill: Tensor, weight: float) -> Tensor:
    """Text guidance only where each region is unobserved.

    z_b [B, C, h, w]; z0_conds [K, B, C, h, w] one per region prompt; fill [K, 1, 1, h, w] in [0, 1] (1 = to
    fill). Outside every region z_b is kept; inside region k: (1 - w) z_b + w z0_cond_k.
    """
    share = fill / fill.sum(0).clamp_min(1.0)  # [K, 1, 1, h, w]; overlapping regions split the pixel
    guided = ((1.0 - weight) * z_b.unsqueeze(0) + weight * z0_conds) * share
    return (1.0 - share.sum(0)) * z_b + guided.sum(0)


def dps_step(denoiser: Denoiser, codec: LatentCodec, op: LinearOperator, y: Tensor, z_t: Tensor, t: int,
             alpha: float, alpha_prev: float, null: Any, scale: float) -> Tensor:
    """z_{t-1} = DDIM_null(z_t) - scale sqrt(a_prev) grad_{z_t} ||y - A D(z0_hat(z_t))||, through the UNet."""
    with torch.enable_grad():
        z = z_t.detach().requires_grad_(True)
        eps = denoiser.eps(z, t, [null])[0]
        residual = (y - op.forward(codec.decode(tweedie(z, eps, alpha)))).flatten(1).norm(dim=1).sum()
        (grad,) = torch.autograd.grad(residual, z)
    return ddim_step(z_t, eps.detach(), alpha, alpha_prev) - scale * alpha_prev ** 0.5 * grad
