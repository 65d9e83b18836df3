"""SVG editing: change what the prompt asks for and keep the rest. The input SVG becomes the generator
(geometry converted exactly); its render is DDIM-inverted with the null prompt, and DreamSampler steps with
omega_t = omega * alpha_t (the editing recipe) pull it towards the prompt, each step fitted by the paths.
DDS and PDS baselines move the same paths with their gradients. Shapes the edit left (nearly) where they were
are put back exactly, so the untouched part of the file keeps its bytes (docs/svg.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..generators.svg import SVGConfig
from ..generators.svg_from_scene import generator_from_scene
from ..sampler.distillation import DDS, PDS, Prompts
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from ..sampler.inversion import ddim_invert
from .external import external_step
from .svg_base import SVGTask

EDIT_METHODS = ("dreamsampler", "dds", "pds")


@dataclass
class EditSVGOptions:
    prompt: str = ""
    source_prompt: str = ""
    method: str = "dreamsampler"
    guidance: float = 0.5  # omega, omega_t = omega * alpha_t
    inner_steps: int = 4
    inversion_fixed_point_iters: int = 3
    baseline_guidance: float = 7.5
    baseline_t_range: list = field(default_factory=lambda: [0.1, 0.98])  # PDS for SVG: 0.1-0.98
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(lr_points=0.3, prune_every=0))
    keep_tolerance: float = 1.0  # canvas units: a shape whose points all moved less than this is untouched ...
    keep_colour_tolerance: float = 0.1  # ... if its colour also moved less than this (0..1 per channel)
    output_size: int = 512
    video_every: int = 2


class EditSVGTask(SVGTask):
    def __init__(self, prior, scene, options: EditSVGOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        size = prior.default_size
        svg = generator_from_scene(scene, options.svg, size)
        super().__init__(prior, svg, num_steps, seed, options.output_size, options.video_every, svg.config,
                         num_steps * options.inner_steps)
        self.options = o = options
        self.schedule = prior.schedule(num_steps)
        self.null, self.target = prior.encode_text(negative_prompt), prior.encode_text(o.prompt)
        self.source = prior.encode_text(o.source_prompt)
        cfg = SamplerConfig(guidance=o.guidance, omega_schedule="alpha", renoise="unconditional")
        self.sampler = DreamSampler(prior, self.schedule, self.null, [self.target], cfg, self.generator)
        self.rule = None

    def fit(self, target: Tensor) -> Tensor:
        return self.fit_latents(target, self.options.inner_steps)

    def initial_state(self) -> dict[str, Tensor]:
        source = {"source_points": self.svg.points.detach().clone(), "source_fills": self.svg.fills.detach().clone()}
        with torch.no_grad():
            z0 = self.latents()
            if self.options.method != "dreamsampler":
                return {"z_source": z0, **source}
            z_T = ddim_invert(self.prior, self.schedule, z0, self.null, self.options.inversion_fixed_point_iters)
        return {"z": z_T, "z_source": z0, **source}

    def result_scene(self):
        """Shapes that stayed within the keep tolerances go back to their source values exactly and are left
        alone by cleanup."""
        o, svg = self.options, self.svg
        src_p, src_f = self.state["source_points"], self.state["source_fills"]
        untouched = []
        with torch.no_grad():
            for k, sl in enumerate(svg.shape_slices()):
                moved = float((svg.points[sl] - src_p[sl]).norm(dim=-1).max())
                recoloured = float((svg.fills[k] - src_f[k]).abs().max())
                if moved <= o.keep_tolerance and recoloured <= o.keep_colour_tolerance:
                    svg.points[sl] = src_p[sl]
                    svg.fills[k] = src_f[k]
                    untouched.append(k)
        scene, _ = super().result_scene()
        return scene, tuple(scene.shapes[k + 1] for k in untouched)

    def advance(self, i: int) -> dict[str, float]:
        o = self.options
        if o.method == "dreamsampler":
            self.state["z"], loss = external_step(self.sampler, self.state["z"], i, self.fit, self.latents)
        else:
            if self.rule is None:
                prompts = Prompts(null=self.null, target=self.target, source=self.source)
                rule = DDS if o.method == "dds" else PDS
                self.rule = rule(self.prior, self.schedule, prompts, self.state["z_source"], o.baseline_guidance,
                                 tuple(o.baseline_t_range), self.generator)
            for _ in range(o.inner_steps):
                z = self.latents()
                loss = 0.5 * (z - self.rule.target(z)).pow(2).sum()
                self.optimiser_step(loss)
            loss = loss.detach()
        self.record_frame(i)
        return {"loss": float(loss)}
