"""One DreamSampler step with an external generator g(theta) (docs/dreamsampler.md, "External generators"):
propose the closed-form target, fit theta to it with a few optimiser steps, and renoise what g achieved."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from ..sampler.dreamsampler import DreamSampler, Proposal


def external_step(sampler: DreamSampler, z_t: Tensor, i: int, fit: Callable[[Tensor], Any],
                  achieved: Callable[[], Tensor], sample_conds: Sequence[Any] | None = None,
                  regularise: Callable[[Proposal], Tensor] | None = None) -> tuple[Tensor, Any]:
    """z_t [V, C, h, w] -> z_{t-1}; ``fit(target)`` moves theta, ``achieved()`` is E(g(theta)) [V, C, h, w];
    ``regularise(proposal)`` (data consistency, say) replaces the closed-form target before the fit."""
    with torch.no_grad():
        proposal = sampler.propose(z_t, i, sample_conds)
        target = proposal.target if regularise is None else regularise(proposal)
    result = fit(target)
    with torch.no_grad():
        z_prev = sampler.renoise(proposal, achieved())
    return z_prev, result
