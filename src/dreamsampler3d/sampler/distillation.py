"""Distillation rules behind one interface: each turns the current latent z0 into a regression target.

A generator g(theta) is fitted to ``sg[target]`` with 0.5 ||E(g) - target||^2, whose gradient in z0 is exactly
the rule's gradient for SDS / DDS / PDS (target = z0 - grad). DreamSampler's closed form is the same shape of
object: its target is the regularised denoised estimate of its own trajectory (see ``dreamsampler.py``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .ddim import noise_to, tweedie
from .protocols import Denoiser
from .schedule import Schedule


def fit_loss(z: Tensor, target: Tensor) -> Tensor:
    """The one loss every method fits a generator with: 0.5 mean ||z - sg[target]||^2. Its gradient in z is
    (z - target) / numel: DreamSampler's proximal pull and SDS / DDS / PDS's rule gradient alike, so that
    generator regularisers weigh the same against every method."""
    return 0.5 * (z - target.detach()).pow(2).mean()


def cfg(eps_null: Tensor, eps_cond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance: eps_null + scale (eps_cond - eps_null)."""
    return eps_null + scale * (eps_cond - eps_null)


def closed_form_target(z_t: Tensor, eps_null: Tensor, eps_cond: Tensor, alpha: float, omega: float) -> Tensor:
    """One linearised null-source DDS step: z0_hat(eps_null + omega (eps_cond - eps_null)).

    Equals (1 - omega) z0_hat_null + omega z0_hat_cond, and z0_hat_null - gamma (eps_cond - eps_null) with
    gamma = omega sqrt(1 - a) / sqrt(a).
    """
    return tweedie(z_t, cfg(eps_null, eps_cond, omega), alpha)


def dds_step_size_to_omega(gamma: float, alpha: float) -> float:
    return gamma * math.sqrt(alpha) / math.sqrt(1.0 - alpha)


class ScoreDistillation(ABC):
    """A random-t distillation rule: gradient(z0) with fresh (t, noise) per call."""

    def __init__(self, denoiser: Denoiser, schedule: Schedule, t_range: tuple[float, float], generator=None):
        self.denoiser = denoiser
        self.train_alphas = schedule.train_alphas
        self.t_range = t_range
        self.generator = generator

    def sample_t(self) -> int:
        n = self.train_alphas.numel()
        lo, hi = int(self.t_range[0] * n), max(int(self.t_range[1] * n), int(self.t_range[0] * n) + 1)
        return int(torch.randint(lo, hi, (1,), generator=self.generator))

    def noise_like(self, z: Tensor) -> Tensor:
        return torch.randn(z.shape, generator=self.generator, dtype=z.dtype).to(z.device)

    @abstractmethod
    def gradient(self, z0: Tensor) -> Tensor:
        """dL/dz0 for the current latent, [B, C, h, w]."""

    def target(self, z0: Tensor) -> Tensor:
        return (z0 - self.gradient(z0)).detach()


@dataclass
class Prompts:
    """Conditions a rule needs; any object the denoiser accepts."""

    null: Any
    target: Any
    source: Any = None


class SDS(ScoreDistillation):
    """DreamFusion / VectorFusion: w(t) (eps_cfg(z_t, c) - eps), fresh t and noise each call."""

    def __init__(self, denoiser, schedule, prompts: Prompts, guidance: float = 100.0,
                 t_range=(0.02, 0.98), generator=None):
        super().__init__(denoiser, schedule, t_range, generator)
        self.prompts, self.guidance = prompts, guidance

    def gradient(self, z0: Tensor) -> Tensor:
        t = self.sample_t()
        alpha = float(self.train_alphas[t])
        noise = self.noise_like(z0)
        with torch.no_grad():
            eps = self.denoiser.eps(noise_to(z0.detach(), noise, alpha), t, [self.prompts.null, self.prompts.target])
        return (1.0 - alpha) * (cfg(eps[0], eps[1], self.guidance) - noise)


def dds_gradient(denoiser: Denoiser, z_tgt: Tensor, z_src: Tensor, t: int, alpha: float, noise: Tensor,
                 prompts: Prompts, guidance: float) -> Tensor:
    """Delta denoising: eps_cfg(z_t^tgt, c_tgt) - eps_cfg(z_t^src, c_src) with shared t and noise.

    With guidance 1 the null branch cancels and one call per latent suffices: [tgt | src] batched.
    """
    b = z_tgt.shape[0]
    z = torch.cat([noise_to(z_tgt, noise, alpha), noise_to(z_src, noise, alpha)])  # [2B, C, h, w]
    with torch.no_grad():
        if guidance == 1.0:
            eps = denoiser.eps_each(z, t, [prompts.target] * b + [prompts.source] * b)
            return eps[:b] - eps[b:]
        conds = [prompts.null] * (2 * b) + [prompts.target] * b + [prompts.source] * b
        eps = denoiser.eps_each(torch.cat([z, z]), t, conds)
    null, cond = eps[: 2 * b], eps[2 * b:]
    guided = cfg(null, cond, guidance)
    return guided[:b] - guided[b:]


class DDS(ScoreDistillation):
    """Delta Denoising Score (Hertz et al.): edits z_tgt away from a fixed source latent and prompt."""

    def __init__(self, denoiser, schedule, prompts: Prompts, z_source: Tensor, guidance: float = 7.5,
                 t_range=(0.05, 0.95), generator=None):
        super().__init__(denoiser, schedule, t_range, generator)
        self.prompts, self.z_source, self.guidance = prompts, z_source.detach(), guidance

    def gradient(self, z0: Tensor) -> Tensor:
        t = self.sample_t()
        return dds_gradient(self.denoiser, z0.detach(), self.z_source, t, float(self.train_alphas[t]),
                            self.noise_like(z0), self.prompts, self.guidance)


def posterior_noise(z_t: Tensor, z_prev: Tensor, eps: Tensor, a_t: float, a_prev: float) -> Tensor:
    """Noise that maps the DDPM posterior mean mu(z_t, z0_hat) to the sample z_prev: (z_prev - mu) / sigma."""
    beta = 1.0 - a_t / a_prev
    z0 = tweedie(z_t, eps, a_t)
    mean = (math.sqrt(a_prev) * beta / (1.0 - a_t)) * z0 + (math.sqrt(1.0 - beta) * (1.0 - a_prev) / (1.0 - a_t)) * z_t
    sigma = math.sqrt((1.0 - a_prev) / (1.0 - a_t) * beta)
    return (z_prev - mean) / sigma


class PDS(ScoreDistillation):
    """Posterior Distillation Sampling (Koo et al.): match posterior noises of source and target chains."""

    def __init__(self, denoiser, schedule, prompts: Prompts, z_source: Tensor, guidance: float = 100.0,
                 t_range=(0.02, 0.98), generator=None):
        super().__init__(denoiser, schedule, t_range, generator)
        self.prompts, self.z_source, self.guidance = prompts, z_source.detach(), guidance

    def gradient(self, z0: Tensor) -> Tensor:
        t = max(self.sample_t(), 1)
        a_t, a_prev = float(self.train_alphas[t]), float(self.train_alphas[t - 1])
        n_t, n_prev = self.noise_like(z0), self.noise_like(z0)
        z_tgt, z_src = z0.detach(), self.z_source
        b = z0.shape[0]
        zt = torch.cat([noise_to(z_tgt, n_t, a_t), noise_to(z_src, n_t, a_t)])  # [2B]
        with torch.no_grad():
            conds = [self.prompts.null] * (2 * b) + [self.prompts.target] * b + [self.prompts.source] * b
            eps = self.denoiser.eps_each(torch.cat([zt, zt]), t, conds)
        guided = cfg(eps[: 2 * b], eps[2 * b:], self.guidance)
        prev = torch.cat([noise_to(z_tgt, n_prev, a_prev), noise_to(z_src, n_prev, a_prev)])
        post = posterior_noise(zt, prev, guided, a_t, a_prev)
        return post[:b] - post[b:]
