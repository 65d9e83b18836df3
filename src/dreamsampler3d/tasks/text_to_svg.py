"""Text-to-SVG: DreamSampler with the SVG rasteriser as external generator.

With the default ``svg.init=prior`` the first ``init_at`` of the steps are DreamSampler steps on the latent
alone (what the prior believes takes shape cheaply); at that step the denoised estimate is decoded and
vectorised into a few flat shapes (``svg_init``), and the remaining steps fit those shapes to each step's
closed-form target. Baselines on the same generator and step budget: SDS (VectorFusion: the same start, then
score distillation) and sample-trace (the prior's own sampling, then vtracer). See docs/svg.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..config_base import Common
from ..generators.svg import SVGConfig, SVGGenerator
from ..errors import UserError, require
from ..generators.svg_init import generator_from_image
from ..renderers.svg import Scene
from ..sampler.distillation import Prompts, SDS, fit_loss
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from .external import external_step
from .registry import TaskSpec, register
from .svg_base import SVGTask, check_latent_start, check_svg_options

METHODS = ("dreamsampler", "sds", "sample-trace")


@dataclass
class TextToSVGOptions:
    prompt: str = ""
    method: str = "dreamsampler"  # or the baselines sds, sample-trace
    init_at: float = 0.8  # svg.init=prior: share of the steps taken on the latent before vectorising
    inner_steps: int = 4  # optimiser steps on the paths per sampler step
    pixel_weight: float = 1.0  # weight of the decoded target in the fit (0: the latent term alone)
    # The steps through the generator: DreamSampler proper (guided target, renoised with eps_null). The steps
    # before the start (and sample-trace's) are the prior's own classic CFG sampling at prior_guidance: from pure
    # noise, unconditional renoising gave muddy, many-coloured estimates on the icon prior (docs/svg.md).
    sampler: SamplerConfig = field(default_factory=lambda: SamplerConfig(guidance=3.0, renoise="unconditional", eta=0.0))
    prior_guidance: float = 5.0
    sds_guidance: float = 50.0
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(lr_points=0.03, fit_tolerance=0.6))
    output_size: int = 512  # result.svg's width and height
    video_every: int = 1  # sampler steps between video frames (0: no video)


class TextToSVGTask(SVGTask):
    def __init__(self, prior, options: TextToSVGOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        o = options
        size = prior.default_size
        if o.method == "sample-trace":
            switch = num_steps  # the prior samples to the end; the tracer takes it from there
        elif o.svg.init == "prior":
            switch = min(num_steps - 1, max(1, math.floor(o.init_at * num_steps)))
        else:
            switch = 0
        svg = None if switch > 0 else SVGGenerator.random(o.svg, size, size, torch.Generator().manual_seed(seed + 1))
        super().__init__(prior, svg, num_steps, seed, o.output_size, o.video_every, o.svg,
                         (num_steps - switch) * o.inner_steps)
        self.options, self.size, self.switch = o, size, switch
        null, cond = prior.encode_text(negative_prompt), prior.encode_text(o.prompt)
        schedule = prior.schedule(num_steps)
        self.sampler = DreamSampler(prior, schedule, null, [cond], o.sampler, self.generator)
        classic = SamplerConfig(guidance=o.prior_guidance, renoise="guided")
        self.sampler_before = DreamSampler(prior, schedule, null, [cond], classic, self.generator)
        self.sds = SDS(prior, schedule, Prompts(null=null, target=cond), o.sds_guidance, generator=self.generator)

    def initial_state(self) -> dict[str, Tensor]:
        z = self.randn(1, *self.prior.latent_shape(self.size, self.size))
        return {"z": z, "z0": torch.zeros_like(z)}

    # ------------------------------------------------------------------ the steps
    def start_from(self, target: Tensor) -> None:
        """Vectorise the decoded denoised estimate [1, C, h, w] into the generator (at most svg.num_paths)."""
        with torch.no_grad():
            image = self.prior.decode(target)  # [1, 3, H, W] in [-1, 1]
        try:
            self.set_generator(generator_from_image(image, self.svg_config))
        except UserError:  # the prior drew a flat canvas: one blob to start from rather than a failure
            one = SVGConfig(**{**self.svg_config.__dict__, "num_paths": 1})
            self.set_generator(SVGGenerator.random(one, self.size, self.size, torch.Generator().manual_seed(self.seed)))

    def fit(self, target: Tensor) -> Tensor:
        if self.svg is None:
            self.start_from(target)
        return self.fit_latents(target, self.options.inner_steps, self.options.pixel_weight)

    @torch.no_grad()
    def latent_step(self, i: int) -> None:
        z, proposal = self.sampler_before.step(self.state["z"], i)
        self.state["z"], self.state["z0"] = z, proposal.target

    def advance(self, i: int) -> dict[str, float]:
        if i < self.switch:
            self.latent_step(i)
            return {}
        if self.options.method == "sds":
            if self.svg is None:
                self.start_from(self.state["z0"])
            for _ in range(self.options.inner_steps):
                z = self.latents()
                loss = fit_loss(z, self.sds.target(z))
                self.optimiser_step(loss)
            loss = loss.detach()
        else:
            self.state["z"], loss = external_step(self.sampler, self.state["z"], i, self.fit, self.latents)
        self.record_frame(i)
        return {"loss": float(loss)}

    # ------------------------------------------------------------------ the result
    def export(self, out):
        files = super().export(out)
        if self.options.method == "sample-trace":  # the traced raster, for comparison
            from ..io.images import save_png

            with torch.no_grad():
                files["sample"] = save_png(out / "sample.png", self.prior.decode(self.state["z"])).name
        return files

    def final(self) -> tuple[Scene | None, str, dict]:
        if self.options.method != "sample-trace":
            return super().final()
        return self.traced(lambda: self.prior.decode(self.state["z"]))

    @torch.no_grad()
    def render(self) -> Tensor:
        if self.svg is None and not (self.finished and self.options.method == "sample-trace"):
            return self.prior.decode(self.state["z0"])  # before the switch: the prior's current estimate
        return super().render()


@dataclass
class TextToSVGConfig(Common, TextToSVGOptions):
    pass


def _check(cfg: TextToSVGConfig) -> None:
    check_svg_options(cfg)
    check_latent_start(cfg)
    require(cfg.prior_guidance >= 0, f"config: prior_guidance must be >= 0, got {cfg.prior_guidance}")


def _build(cfg: TextToSVGConfig, prior, inputs):
    return TextToSVGTask(prior, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt), lambda result: {}


register(TaskSpec(
    name="text-to-svg",
    help="an SVG from a prompt: DreamSampler through our differentiable rasteriser (--method sds|sample-trace baselines)",
    config=TextToSVGConfig, build=_build, inputs=("prompt",), methods=METHODS,
    method_help="sds (VectorFusion) and sample-trace (the prior's sample traced by vtracer) are baselines",
    check=_check, batch=True, order=50,
    about="The prior samples; at init_at of the steps its estimate is vectorised into a few flat shapes, which "
          "DreamSampler then refines through the rasteriser. Writes result.svg (a few opaque paths, output_size "
          "px), its cairosvg render result.png and optimisation.mp4.",
    examples=('dreamsampler3d text-to-svg --prompt "a red star on a white background" --out out/star-svg',
              'dreamsampler3d text-to-svg --prompt "a red star on a white background" --method sample-trace '
              "--out out/star-trace")))
