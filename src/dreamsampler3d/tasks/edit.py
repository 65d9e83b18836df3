"""Real-image editing: DDIM inversion with the null prompt, then DreamSampler (or a DDS/PDS/SDS baseline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

from ..config_base import Common
from ..errors import UserError, require
from ..io.images import to_tensor
from ..sampler.distillation import DDS, PDS, SDS, Prompts
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from ..sampler.inversion import ddim_invert
from .base import SamplingTask
from .full_size import changed_region, paste_back
from .prepare import resize, working_size
from .registry import TaskSpec, register

METHODS = ("dreamsampler", "dds", "pds", "sds")


@dataclass
class EditOptions:
    prompt: str = ""
    source_prompt: str = ""  # what the image shows now (DDS/PDS source; optional)
    method: str = "dreamsampler"
    guidance: float = 0.5  # omega, with omega_t = omega * alpha_t (DreamSampler); measured in configs/edit.yaml
    omega_schedule: str = "alpha"
    inversion_fixed_point_iters: int = 3
    baseline_guidance: Optional[float] = None  # CFG of the baseline rules (default: SDS 100, DDS 7.5, PDS 100)
    baseline_lr: float = 0.1  # SGD step on the latent
    route: str = "auto"  # auto: flat colour art (icons) is edited as its SVG, photos on the latent; svg; latent


class EditTask(SamplingTask):
    def __init__(self, prior, image: Tensor, options: EditOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        super().__init__(prior, num_steps, seed)
        self.options = options
        self.image = image  # [1, 3, H, W] in [-1, 1]
        self.schedule = prior.schedule(num_steps)
        self.null = prior.encode_text(negative_prompt)
        self.target = prior.encode_text(options.prompt)
        self.source = prior.encode_text(options.source_prompt)
        cfg = SamplerConfig(guidance=options.guidance, omega_schedule=options.omega_schedule, renoise="unconditional")
        self.sampler = DreamSampler(prior, self.schedule, self.null, [self.target], cfg, self.generator)
        self.rule = None
        self.full_input = None  # the input image (PIL) at its own size, when built from a file

    def _baseline(self, z_source: Tensor):
        o, prompts = self.options, Prompts(null=self.null, target=self.target, source=self.source)
        if o.method == "sds":
            return SDS(self.prior, self.schedule, prompts, o.baseline_guidance or 100.0, generator=self.generator)
        if o.method == "dds":
            return DDS(self.prior, self.schedule, prompts, z_source, o.baseline_guidance or 7.5, generator=self.generator)
        return PDS(self.prior, self.schedule, prompts, z_source, o.baseline_guidance or 100.0, generator=self.generator)

    @torch.no_grad()
    def initial_state(self) -> dict[str, Tensor]:
        z0 = self.prior.encode(self.image)
        if self.options.method != "dreamsampler":
            return {"z": z0.clone(), "z_source": z0}
        z_T = ddim_invert(self.prior, self.schedule, z0, self.null, self.options.inversion_fixed_point_iters)
        return {"z": z_T, "z0": z0, "z_source": z0}

    @torch.no_grad()
    def advance(self, i: int) -> dict[str, float]:
        if self.options.method == "dreamsampler":
            z, proposal = self.sampler.step(self.state["z"], i)
            self.state.update(z=z, z0=proposal.target)
            return {"t": float(proposal.t)}
        if self.rule is None:
            self.rule = self._baseline(self.state["z_source"])
        grad = self.rule.gradient(self.state["z"])
        self.state["z"] = self.state["z"] - self.options.baseline_lr * grad
        return {"grad_norm": float(grad.norm())}

    def full_result(self, result: Tensor) -> Tensor:
        """The input at its own size, with what the edit changed brought back from the working size."""
        if self.full_input is None:
            return result
        return paste_back(self.full_input, result, changed_region(self.image.to(result.device), result))

    @torch.no_grad()
    def render(self) -> Tensor:
        if self.options.method != "dreamsampler" or self.finished:
            return self.prior.decode(self.state["z"])
        return self.prior.decode(self.state["z0"])


@dataclass
class EditConfig(Common, EditOptions):
    image: str = ""
    height: Optional[int] = None
    width: Optional[int] = None


ROUTES = ("auto", "svg", "latent")


def _check(cfg: EditConfig) -> None:
    require(cfg.omega_schedule in ("constant", "alpha", "one_minus_alpha"), f"config: omega_schedule: unknown {cfg.omega_schedule!r}")
    require(cfg.inversion_fixed_point_iters >= 0, "config: inversion_fixed_point_iters must be >= 0")
    require(cfg.route in ROUTES, f"config: route: unknown {cfg.route!r} ({', '.join(ROUTES)})")
    require(cfg.route != "svg" or cfg.method == "dreamsampler",
            f"config: route=svg is DreamSampler's; the {cfg.method} baseline edits the latent")


def _as_svg(cfg: EditConfig, image) -> bool:
    """Whether this edit goes through the picture's SVG (tasks/edit_flat.py): DreamSampler on flat colour art, unless
    ``route`` says otherwise. The baselines edit the latent."""
    from .edit_flat import flat_art

    if cfg.method != "dreamsampler" or cfg.route == "latent":
        return False
    return cfg.route == "svg" or flat_art(image)


def _build(cfg: EditConfig, prior, inputs):
    if _as_svg(cfg, inputs.source):
        from .edit_flat import FlatEditTask
        from .edit_svg import EditSVGOptions

        options = EditSVGOptions(prompt=cfg.prompt, source_prompt=cfg.source_prompt, guidance=cfg.guidance,
                                 inversion_fixed_point_iters=cfg.inversion_fixed_point_iters)
        try:
            task = FlatEditTask(prior, inputs.source, options, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt)
        except UserError as err:
            if cfg.route == "svg":
                raise
            # one flat colour, nothing to vectorise (a blank canvas to draw on): the latent edit draws on it
            inputs.notes.append(f"flat colours, but edited on the latent: its SVG could not be made ({err})")
        else:
            inputs.notes.append("flat colours (an icon, a logo): edited as its SVG, vectorised at its own size, so "
                                "what the edit leaves keeps its pixels and outlines stay crisp; result.svg is "
                                "written too (route=latent edits the latent instead)")
            if cfg.height or cfg.width:
                inputs.notes.append("height= and width= set the latent edit's working size; through the SVG the "
                                    "prior works at its own size, and result.png keeps the input's")
            with torch.no_grad():
                inputs.image = task.source.render() * 2 - 1  # input.png: the vectorisation, as the prior sees it
            return task, lambda result: {}
    inputs.image = to_tensor(resize(inputs.source, working_size(cfg, prior), "image", inputs.notes, result_note=True))
    task = EditTask(prior, inputs.image, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt)
    task.full_input = inputs.source
    return task, lambda result: {}


register(TaskSpec(
    name="edit", help="edit a real image towards a prompt (DDIM inversion + DreamSampler; --method dds|pds|sds baselines)",
    config=EditConfig, build=_build, inputs=("prompt", "image"), methods=METHODS,
    method_help="the editing rule; dds, pds and sds are baselines", check=_check, order=20,
    about="The image is DDIM-inverted with the null prompt at the prior's working size, then DreamSampler steps "
          "pull it towards --prompt. result.png has the input's size: the change is brought back to full "
          "resolution and pixels the edit did not change keep their values. Flat colour art (icons, logos) is "
          "edited as its SVG instead (vectorised at its own size, then as edit-svg does), so outlines stay crisp "
          "and result.svg comes with it; route=latent turns that off, route=svg forces it.",
    examples=("dreamsampler3d samples samples",
              'dreamsampler3d edit --image samples/red-circle.png --prompt "a blue circle on a white background" '
              "--out out/edit")))
