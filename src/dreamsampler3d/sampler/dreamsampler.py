"""DreamSampler: reverse diffusion as a sequence of regularised latent optimisations (docs/dreamsampler.md).

Each step: one batched UNet call (null + conditions), the denoised estimates, a closed-form distillation
target, optional regularisers supplied by the task, then renoising. The caller owns the loop (a Lightning
module, a benchmark, a test) and may replace the target by what an external generator achieved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from .ddim import renoise, tweedie
from .distillation import cfg
from .protocols import Denoiser
from .schedule import ETA_SCHEDULES, OMEGA_SCHEDULES, Schedule, eta_t, omega_t


@dataclass
class SamplerConfig:
    """guidance = omega; renoise 'unconditional' (with eps_null) is DreamSampler proper, 'guided' the classic
    CFG sampler. (Not spelt 'null': YAML would read that as None.)"""

    guidance: float = 7.5
    omega_schedule: str = "constant"
    renoise: str = "guided"
    eta: float = 0.0
    eta_schedule: str = "constant"

    def problems(self) -> list[str]:
        """What is wrong with these values, as 'key: message' lines (config.validate reports the first)."""
        out = []
        if not self.guidance >= 0:
            out.append(f"guidance must be >= 0, got {self.guidance}")
        if self.omega_schedule not in OMEGA_SCHEDULES:
            out.append(f"omega_schedule must be one of {', '.join(OMEGA_SCHEDULES)}, got {self.omega_schedule!r}")
        if self.renoise not in ("unconditional", "guided"):
            out.append(f"renoise must be unconditional or guided, got {self.renoise!r}")
        if not 0.0 <= self.eta <= 1.0:
            out.append(f"eta must lie in [0, 1], got {self.eta}")
        if self.eta_schedule not in ETA_SCHEDULES:
            out.append(f"eta_schedule must be one of {', '.join(ETA_SCHEDULES)}, got {self.eta_schedule!r}")
        return out


@dataclass
class Proposal:
    """Everything a regulariser may need from one step's UNet call."""

    index: int
    t: int
    alpha: float
    alpha_prev: float
    z_t: Tensor  # [B, C, h, w]
    eps_null: Tensor  # [B, C, h, w]
    eps_conds: Tensor  # [K, B, C, h, w]
    z0_null: Tensor  # [B, C, h, w]
    z0_conds: Tensor  # [K, B, C, h, w]
    omega: float
    target: Tensor  # [B, C, h, w], the closed-form z0_bar (first condition)
    eps_renoise: Tensor  # [B, C, h, w]
    extra: dict = field(default_factory=dict)


class DreamSampler:
    def __init__(self, denoiser: Denoiser, schedule: Schedule, null: Any, conds: Sequence[Any],
                 config: SamplerConfig | None = None, generator: torch.Generator | None = None):
        self.denoiser = denoiser
        self.schedule = schedule
        self.null = null
        self.conds = list(conds)
        self.config = config or SamplerConfig()
        self.generator = generator
        if self.config.renoise not in ("unconditional", "guided"):
            raise ValueError(f"renoise must be 'unconditional' or 'guided', got {self.config.renoise!r}")

    def propose(self, z_t: Tensor, i: int, sample_conds: Sequence[Any] | None = None) -> Proposal:
        """Steps 1-3 without regularisers: the closed-form target for the first condition.

        ``sample_conds`` (one per sample, e.g. view-dependent prompts) replaces ``conds`` for this call.
        """
        t, a, a_prev = self.schedule.at(i)
        if sample_conds is None:
            eps = self.denoiser.eps(z_t, t, [self.null, *self.conds])  # [1 + K, B, C, h, w]
            eps_null, eps_conds = eps[0], eps[1:]
        else:
            b = z_t.shape[0]
            eps = self.denoiser.eps_each(torch.cat([z_t, z_t]), t, [self.null] * b + list(sample_conds))  # [2B, ...]
            eps_null, eps_conds = eps[:b], eps[b:].unsqueeze(0)
        w = omega_t(self.config.guidance, self.config.omega_schedule, a)
        if eps_conds.shape[0]:
            guided = cfg(eps_null, eps_conds[0], w)
        else:
            guided = eps_null
        eps_re = eps_null if self.config.renoise == "unconditional" else guided
        return Proposal(
            index=i, t=t, alpha=a, alpha_prev=a_prev, z_t=z_t, eps_null=eps_null, eps_conds=eps_conds,
            z0_null=tweedie(z_t, eps_null, a), z0_conds=tweedie(z_t, eps_conds, a), omega=w,
            target=tweedie(z_t, guided, a), eps_renoise=eps_re,
        )

    def renoise(self, proposal: Proposal, z0_bar: Tensor) -> Tensor:
        """Step 4: z_{t-1} from the (regularised, or generator-achieved) z0_bar."""
        eta = eta_t(self.config.eta, self.config.eta_schedule, proposal.alpha)
        return renoise(z0_bar, proposal.eps_renoise, proposal.alpha_prev, eta, self.generator)

    def step(self, z_t: Tensor, i: int, regularise: Callable[[Proposal], Tensor] | None = None) -> tuple[Tensor, Proposal]:
        proposal = self.propose(z_t, i)
        z0_bar = proposal.target if regularise is None else regularise(proposal)
        return self.renoise(proposal, z0_bar), proposal

    def sample(self, z_T: Tensor, regularise: Callable[[Proposal], Tensor] | None = None) -> Tensor:
        """The whole loop, for library use and tests (tasks drive ``step`` from Lightning instead)."""
        z = z_T
        for i in range(len(self.schedule)):
            z, _ = self.step(z, i, regularise)
        return z
