"""The discrete time grid a run visits (built from a model's scheduler in ``priors/schedules.py``) and the
per-step schedules (omega_t, eta_t) of DreamSampler. Pure tensor code: no model library is imported here."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor


@dataclass(frozen=True)
class Schedule:
    """Timesteps of one sampling run, in the order they are visited (noisiest first).

    ``alphas[i]`` is the cumulative product alpha-bar at ``timesteps[i]`` and ``alphas_prev[i]`` the one the
    step lands on (the next, less noisy level; the final one is the scheduler's ``final_alpha_cumprod``).
    """

    timesteps: Tensor  # [N] long
    alphas: Tensor  # [N] float32
    alphas_prev: Tensor  # [N] float32
    train_alphas: Tensor  # [T] float32, the full training schedule (for random-t distillation rules)

    def __len__(self) -> int:
        return int(self.timesteps.numel())

    def at(self, i: int) -> tuple[int, float, float]:
        return int(self.timesteps[i]), float(self.alphas[i]), float(self.alphas_prev[i])

    def alpha_of(self, t: int) -> float:
        return float(self.train_alphas[t])


OMEGA_SCHEDULES = ("constant", "alpha", "one_minus_alpha")
ETA_SCHEDULES = ("constant", "alpha")


def omega_t(omega: float, kind: str, alpha: float) -> float:
    """Guidance weight on the denoised estimate: 'constant' (plain CFG), 'alpha' (omega * alpha-bar_t)."""
    if kind == "constant":
        return omega
    if kind == "alpha":
        return omega * alpha
    if kind == "one_minus_alpha":
        return omega * (1.0 - alpha)
    raise ValueError(f"unknown omega schedule {kind!r}")


def eta_t(eta: float, kind: str, alpha: float) -> float:
    """Stochasticity of renoising in [0, 1]: 'constant' or 'alpha' (eta * alpha-bar_t, the inpainting recipe)."""
    if kind == "constant":
        value = eta
    elif kind == "alpha":
        value = eta * alpha
    else:
        raise ValueError(f"unknown eta schedule {kind!r}")
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"eta_t must lie in [0, 1], got {value}")
    return value
