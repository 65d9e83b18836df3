"""Text conditions as plain tensors, so the sampler can batch any mix of prompts in one UNet call."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class TextCondition:
    """One prompt's encoding: token embeddings and, for SDXL, the pooled embedding of the second encoder."""

    prompt: str
    embeds: Tensor  # [1, L, D]
    pooled: Tensor | None = None  # [1, P] (SDXL only)

    def to(self, device: torch.device, dtype: torch.dtype) -> "TextCondition":
        pooled = None if self.pooled is None else self.pooled.to(device, dtype)
        return TextCondition(self.prompt, self.embeds.to(device, dtype), pooled)


def stack_conditions(conds: list[TextCondition]) -> tuple[Tensor, Tensor | None]:
    """[N] conditions -> embeds [N, L, D] and pooled [N, P] (or None)."""
    embeds = torch.cat([c.embeds for c in conds], dim=0)
    if conds[0].pooled is None:
        return embeds, None
    return embeds, torch.cat([c.pooled for c in conds], dim=0)
