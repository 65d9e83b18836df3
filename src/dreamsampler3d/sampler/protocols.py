"""What the sampler needs from a diffusion model, stated as protocols so it never imports one."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from torch import Tensor


class Denoiser(Protocol):
    def eps_each(self, z_t: Tensor, t: int, conds: Sequence[Any]) -> Tensor:
        """z_t [N, C, h, w], one condition per sample -> epsilon [N, C, h, w]."""

    def eps(self, z_t: Tensor, t: int, conds: Sequence[Any]) -> Tensor:
        """z_t [B, C, h, w], every condition on every sample -> epsilon [K, B, C, h, w]."""


class LatentCodec(Protocol):
    def encode(self, images: Tensor) -> Tensor:
        """[B, 3, H, W] in [-1, 1] -> [B, C, h, w]."""

    def decode(self, latents: Tensor) -> Tensor:
        """[B, C, h, w] -> [B, 3, H, W] in [-1, 1]."""
