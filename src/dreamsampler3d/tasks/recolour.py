"""The colour half of an SVG edit: DreamSampler with the input's shapes as the generator, their geometry frozen and
only their fills free.

Read off a free latent edit, a region's colour is whatever a small prior's smeared estimate paints there (white
patches, a blue-to-magenta drift), so most regions were judged "smeared" and kept their old colour. Fitted as the
generator's only parameters, the fills are a projection of each step's target onto "the input in some colours":
smears cannot accumulate, and the prompt's colour builds up over the steps. Its trajectory starts from the same
inverted latent as the free edit and runs beside it on the same schedule; at the switch it takes its remaining
steps, and its fills decide the kept shapes' colours (svg_regions.plan_edit). See docs/svg.md."""

from __future__ import annotations

import copy

import torch
from torch import Tensor

from ..generators.svg import SVGGenerator
from ..generators.svg_regions import as_picture, coverages, same_hue, silent, visible
from ..sampler.distillation import fit_loss
from ..sampler.dreamsampler import DreamSampler
from .external import external_step

_BETAS = (0.9, 0.9)


class Recolouring:
    """Fills-only DreamSampler steps on a copy of ``source``. Its whole state (latent, fills, Adam's moments) lives
    in the task's state dict under ``recolour_*`` keys, so a checkpoint resumes it exactly."""

    def __init__(self, prior, sampler: DreamSampler, source: SVGGenerator, reference: Tensor, colour_tol: float,
                 lr: float, inner_steps: int):
        """``reference`` [1, 3, H, W] in [-1, 1]: the prior's own decoding of the input's latent; shapes it holds no
        evidence about (svg_regions.silent) keep their fills."""
        self.prior, self.sampler, self.lr, self.inner_steps = prior, sampler, lr, inner_steps
        self.generator = copy.deepcopy(source)
        for p in self.generator.parameters():
            p.requires_grad_(False)
        self.generator.fills.requires_grad_(True)
        self.original = source.fills.detach().clone()  # [K, 4]
        h, w = reference.shape[-2:]
        seen = visible(coverages(source, w, h)).cpu().numpy()  # [K, H, W]
        held = silent(source, seen, as_picture(reference), colour_tol)
        self.held = torch.tensor(held, dtype=torch.bool, device=self.original.device)  # [K]
        self.colour_tol = colour_tol

    @staticmethod
    def initial_state(z_T: Tensor, fills: Tensor) -> dict[str, Tensor]:
        """z_T [1, C, h, w], fills [K, 4]."""
        return {"recolour_z": z_T.clone(), "recolour_fills": fills.detach().clone(),
                "recolour_avg": torch.zeros_like(fills), "recolour_avg_sq": torch.zeros_like(fills),
                "recolour_adam_steps": torch.tensor(0.0)}

    def _latents(self) -> Tensor:
        return self.prior.encode(self.generator.render() * 2 - 1)

    def step(self, state: dict[str, Tensor], i: int) -> None:
        """DreamSampler step i of the fills-only trajectory, in place on ``state``."""
        fills = self.generator.fills
        with torch.no_grad():
            fills.copy_(state["recolour_fills"])
        opt = torch.optim.Adam([fills], lr=self.lr, betas=_BETAS)
        if float(state["recolour_adam_steps"]) > 0:
            opt.load_state_dict({"state": {0: {"step": state["recolour_adam_steps"].clone(),
                                               "exp_avg": state["recolour_avg"].clone(),
                                               "exp_avg_sq": state["recolour_avg_sq"].clone()}},
                                 "param_groups": opt.state_dict()["param_groups"]})

        def fit(target: Tensor) -> None:
            for _ in range(self.inner_steps):
                loss = fit_loss(self._latents(), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    fills.clamp_(0.0, 1.0)
                    fills[self.held] = self.original[self.held]
                    fills[:, 3] = self.original[:, 3]  # colours move, opacity stays

        state["recolour_z"], _ = external_step(self.sampler, state["recolour_z"], i, fit, self._latents)
        adam = opt.state_dict()["state"][0]
        state["recolour_fills"] = fills.detach().clone()
        state["recolour_avg"], state["recolour_avg_sq"] = adam["exp_avg"].clone(), adam["exp_avg_sq"].clone()
        state["recolour_adam_steps"] = torch.as_tensor(adam["step"], dtype=torch.float32).clone()

    def colours(self, state: dict[str, Tensor]) -> Tensor:
        """The fills [K, 3] the trajectory reached; each moved by at most ``colour_tol`` (per channel), or only to
        another shade of its own hue, is put back to its exact original: a colour the edit did not change keeps its
        bytes."""
        fills = state["recolour_fills"][:, :3].clone()
        old = self.original[:, :3]
        still = ((fills - old).abs().max(dim=1).values <= self.colour_tol) | same_hue(fills, old).to(fills.device)
        fills[still] = old[still]
        return fills
