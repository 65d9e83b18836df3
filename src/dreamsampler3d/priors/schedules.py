"""A model's DDIM time grid as a ``sampler.schedule.Schedule``: built with diffusers' own scheduler, so the
grid (spacing, offset, final alpha) is exactly the pipeline's."""

from __future__ import annotations

import torch

from ..sampler.schedule import Schedule


def ddim_schedule(scheduler_config: dict, num_steps: int) -> Schedule:
    """Reproduce diffusers' DDIM time grid exactly (spacing, offset, final alpha) from a scheduler config; a grid
    that would pass the last trained timestep (1000 steps with steps_offset 1) is moved down to fit."""
    from diffusers import DDIMScheduler

    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    sched = DDIMScheduler.from_config(scheduler_config)
    if num_steps > sched.config.num_train_timesteps:
        raise ValueError(f"{num_steps} steps is more than the model's {sched.config.num_train_timesteps} training "
                         "timesteps")
    sched.set_timesteps(num_steps)
    ts = sched.timesteps.long()
    over = int(ts.max()) - (sched.config.num_train_timesteps - 1)
    if over > 0:  # 'leading' spacing with steps_offset 1 asks for t = 1000 of 0..999 at 1000 steps (an IndexError
        ts = ts - over  # in diffusers' own pipeline too): the grid moves down to start at the last trained timestep
    ac = sched.alphas_cumprod.float()
    step = sched.config.num_train_timesteps // num_steps
    prev = [int(t) - step for t in ts]
    final = float(sched.final_alpha_cumprod)
    alphas_prev = torch.tensor([float(ac[p]) if p >= 0 else final for p in prev], dtype=torch.float32)
    return Schedule(timesteps=ts, alphas=ac[ts].clone(), alphas_prev=alphas_prev, train_alphas=ac.clone())
