"""SVG restoration: the inverse problem and the vectorisation solved at once. The SVG's render must explain
the measurement through the degradation (rho ||y - A g(theta)||^2) while DreamSampler pulls its encoding
towards the prior (SDEdit-style start from the noised initial render); each step's latent target is first made
data-consistent by CG in pixel space, as in the raster restoration (docs/dreamsampler.md)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config_base import Common
from ..errors import require
from ..generators.svg import SVGConfig
from ..generators.svg_init import generator_from_image
from ..io.images import psnr, to_uint8
from ..sampler.consistency import data_consistent_latent
from ..sampler.ddim import noise_to
from ..sampler.distillation import fit_loss
from ..sampler.dreamsampler import DreamSampler, Proposal, SamplerConfig
from ..sampler.operators import LinearOperator, Mask
from .external import external_step
from .prepare import FullMeasurement, Inputs, full_measurement, measurement, working_size
from .registry import TaskSpec, register
from .svg_base import SVGTask, check_svg_options
from .two_stage import run_two_stage


METHODS = ("dreamsampler", "vectorize", "two-stage", "trace")


@dataclass
class RestoreSVGOptions:
    method: str = "dreamsampler"  # baselines: vectorize (the degraded input), two-stage (restore, vectorise),
    # trace (restore, then vtracer)
    prompts: list = field(default_factory=list)  # optional: one prompt guides the restoration
    strength: float = 0.6  # SDEdit start: fraction of the noise schedule the run traverses
    rho: float = 20.0  # weight of the data term through the rasteriser
    consistency: bool = True  # CG data consistency on each step's latent target (as the raster restore)
    mu: float = 1e-4  # CG proximal weight
    cg_iters: int = 10
    inner_steps: int = 4
    sampler: SamplerConfig = field(default_factory=lambda: SamplerConfig(guidance=3.0, omega_schedule="alpha",
                                                                         renoise="unconditional", eta=0.0))
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(lr_points=0.3, prune_every=0))
    output_size: int = 512
    video_every: int = 2


def first_guess(op: LinearOperator, y: Tensor, size: tuple[int, int]) -> Tensor:
    """A full-resolution guess [1, 3, H, W] in [-1, 1] from y: bicubic for down-sampling, holes filled with
    their nearest observed pixel for inpainting (so that no hole becomes a shape of its own), else y divided by
    what the operator makes of a constant image: a blur's zero padding pulls the border towards 0 (mid-grey),
    and undone here that frame does not become a shape of its own (normalised convolution)."""
    if y.shape[-2:] != size:
        return F.interpolate(y, size=size, mode="bicubic", align_corners=False).clamp(-1, 1)
    if isinstance(op, Mask):
        from scipy.ndimage import distance_transform_edt

        hole = op.observed[0, 0].cpu().numpy() < 0.5  # [H, W]
        _, (rows, cols) = distance_transform_edt(hole, return_indices=True)
        return y[..., torch.from_numpy(rows).to(y.device), torch.from_numpy(cols).to(y.device)]
    share = op.forward(torch.ones_like(y))  # [1, 3, H, W]: 1 inside, < 1 where the operator saw the padding
    return (y / share.clamp(min=0.05)).clamp(-1, 1)


class RestoreSVGTask(SVGTask):
    def __init__(self, prior, op: LinearOperator, y: Tensor, size: tuple[int, int], options: RestoreSVGOptions,
                 num_steps: int, seed: int, negative_prompt: str = "", full: FullMeasurement | None = None):
        """op, y: the degradation at the model's working ``size`` (the latent consistency step); ``full``: the
        same degradation at the input's own resolution, which the SVG's render must explain (default: op, y)."""
        self.op, self.y = op, y
        self.full = full or FullMeasurement(op, y, size)
        guess = first_guess(self.full.op, self.full.y, self.full.clean_size)  # at the clean size, then ...
        if tuple(guess.shape[-2:]) != tuple(size):  # ... the working size, area-averaged
            guess = F.interpolate(guess, size=size, mode="bilinear", align_corners=False, antialias=True)
        self.guess = guess
        svg = generator_from_image(guess, options.svg, "degraded image")
        super().__init__(prior, svg, num_steps, seed, options.output_size, options.video_every, options.svg,
                         num_steps * options.inner_steps)
        self.options = o = options
        total = max(num_steps, math.ceil(num_steps / max(o.strength, 1e-3)))
        full = prior.schedule(total)
        self.schedule = type(full)(full.timesteps[-num_steps:], full.alphas[-num_steps:], full.alphas_prev[-num_steps:],
                                   full.train_alphas)
        conds = [prior.encode_text(p) for p in o.prompts[:1]]
        cfg = o.sampler if conds else SamplerConfig(guidance=0.0, renoise="unconditional", eta=o.sampler.eta)
        self.sampler = DreamSampler(prior, self.schedule, prior.encode_text(negative_prompt), conds, cfg, self.generator)

    def image(self) -> Tensor:
        return self.svg.render() * 2 - 1  # [1, 3, H, W] in [-1, 1]

    def clean_render(self, image: Tensor | None = None) -> Tensor:
        """The SVG [1, 3, H, W] in [-1, 1] at the clean picture's own size (the working-size ``image`` when that
        is the size): an SVG has no resolution, so the measurement is never shrunk to the model's."""
        h, w = self.full.clean_size
        if image is not None and tuple(image.shape[-2:]) == (h, w):
            return image
        scale = 1 if h >= 2 * self.svg.height else None  # exact area coverage: supersampling adds nothing here
        out = self.svg.render(size=h, scale=scale) * 2 - 1
        if tuple(out.shape[-2:]) != (h, w):  # a canvas of another aspect (the working size is square)
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        return out

    def data_term(self, image: Tensor | None = None) -> Tensor:
        clean = self.clean_render(image)
        return (self.full.op.forward(clean) - self.full.y.to(clean.device)).pow(2).mean()

    def fit(self, target: Tensor) -> Tensor:
        for _ in range(self.options.inner_steps):
            image = self.image()
            loss = fit_loss(self.prior.encode(image), target) + self.options.rho * self.data_term(image)
            self.optimiser_step(loss)
        return loss.detach()

    def consistent(self, p: Proposal) -> Tensor:
        """z_b = a E(x_cg) + (1 - a) z0: the step's target pulled onto the measurements (docs/dreamsampler.md)."""
        o = self.options
        return data_consistent_latent(self.prior, self.op, self.y.to(p.target.device), p.target, p.alpha, o.mu,
                                      o.cg_iters)[0]

    def initial_state(self) -> dict[str, Tensor]:
        with torch.no_grad():
            z0 = self.prior.encode(self.image())
        return {"z": noise_to(z0, self.randn(*z0.shape), float(self.schedule.alphas[0])),
                "initial_measurement_psnr": torch.tensor(self.measurement_psnr())}

    def advance(self, i: int) -> dict[str, float]:
        if self.options.method == "vectorize":  # baseline: fit the (up-sampled) degraded input as if clean
            loss = (self.image() - self.guess.to(self.svg.points.device)).pow(2).mean()
            self.optimiser_step(loss)
            self.record_frame(i)
            return {"loss": float(loss.detach())}
        self.state["z"], loss = external_step(self.sampler, self.state["z"], i, self.fit,
                                              lambda: self.prior.encode(self.image()),
                                              regularise=self.consistent if self.options.consistency else None)
        self.record_frame(i)
        return {"loss": float(loss)}

    @torch.no_grad()
    def measurement_psnr(self) -> float:
        """PSNR of the degraded current render (at the end: of result.svg's render) against the measurement, at
        the measurement's own resolution."""
        h, w = self.full.clean_size
        if self.finished:
            from .svg_base import render_svg_text

            image = render_svg_text(self.final()[1], w).to(self.run_device)
            if tuple(image.shape[-2:]) != (h, w):
                image = F.interpolate(image, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        else:
            image = self.clean_render()
        return psnr(to_uint8(self.full.op.forward(image)), to_uint8(self.full.y))


@dataclass
class RestoreSVGConfig(Common, RestoreSVGOptions):
    image: str = ""  # the degraded image (low resolution for sr4 / sr8)
    degradation: str = "sr4"
    mask: Optional[str] = None
    prompts: List[str] = field(default_factory=list)
    height: Optional[int] = None  # restored canvas (default: the model's native size)
    width: Optional[int] = None
    blur_sigma: float = 2.0
    noise_sigma: float = 0.0


def _check(cfg: RestoreSVGConfig) -> None:
    check_svg_options(cfg)
    require(cfg.run.resume is None or cfg.method not in ("two-stage", "trace"),
            f"--resume: method {cfg.method} runs two stages with their own checkpoints; rerun it (it is a baseline)")
    require(0.0 < cfg.strength <= 1.0, f"config: strength must lie in (0, 1], got {cfg.strength}")
    require(cfg.rho >= 0 and cfg.inner_steps >= 1, "config: rho must be >= 0 and inner_steps >= 1")
    require(cfg.mu > 0 and cfg.cg_iters >= 1, f"config: mu must be > 0 and cg_iters >= 1, got {cfg.mu}, {cfg.cg_iters}")


def _build(cfg: RestoreSVGConfig, prior, inputs):
    size = working_size(cfg, prior)
    full = full_measurement(cfg, inputs.source, inputs)
    # the working-size copy only serves the latent consistency step: its resizing is no news for the user
    op, y, _ = measurement(cfg, size, inputs.source, Inputs(notes=[]), cfg.blur_sigma * size[0] / full.clean_size[0])
    t = RestoreSVGTask(prior, op, y, size, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt, full)
    return t, lambda result: {"measurement_psnr_db": t.measurement_psnr(),
                              "initial_measurement_psnr_db": float(t.state["initial_measurement_psnr"])}


def _run(cfg: RestoreSVGConfig, run_config, log):
    """The two-stage baselines run restore, then vectorize; the other methods are one run."""
    return run_two_stage(cfg, run_config, log) if cfg.method in ("two-stage", "trace") else None


register(TaskSpec(
    name="restore-svg",
    help="a clean SVG from a degraded image (sr4, sr8, blur, inpaint): vectorisation and restoration at once",
    config=RestoreSVGConfig, build=_build, inputs=("image", "mask", "degradation", "prompts"), methods=METHODS,
    method_help="vectorize, two-stage and trace (vtracer on the restored raster) are baselines",
    check=_check, run=_run, order=60,
    about="The SVG is fitted to the degraded picture through the degradation at the picture's own resolution, "
          "while the prior judges a render at its working size. Writes result.svg, result.png, optimisation.mp4.",
    examples=("dreamsampler3d samples samples",
              "dreamsampler3d restore-svg --image samples/red-circle-16.png --degradation sr4 --out out/restore-svg")))
