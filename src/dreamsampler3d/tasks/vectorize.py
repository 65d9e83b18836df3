"""Vectorisation: a few flat shapes found in the image (``svg_init``), then fitted to it by the pixel loss
alone (no prior is consulted); ``--method trace`` is the off-the-shelf tracer baseline (vtracer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import Tensor

from ..config_base import Common
from ..generators.svg import SVGConfig
from ..generators.svg_init import generator_from_image
from ..io.images import psnr, to_tensor, to_uint8
from ..renderers.svg import Scene
from .prepare import resize
from .registry import TaskSpec, register
from .svg_base import SVGTask, check_svg_options

METHODS = ("fit", "trace")
MAX_SIDE = 512  # larger inputs are scaled down to this (height / width keys set the size yourself)


@dataclass
class VectorizeOptions:
    method: str = "fit"  # or trace (vtracer, the baseline)
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(segments=8, lr_points=0.3, prune_every=0, render_scale=2))
    output_size: int = 512
    video_every: int = 5


class VectorizeTask(SVGTask):
    def __init__(self, prior, image: Tensor, options: VectorizeOptions, num_steps: int, seed: int):
        """image [1, 3, H, W] in [-1, 1]; the canvas is the image's size."""
        self.target = (image + 1) / 2  # [1, 3, H, W] in [0, 1]
        self.options = options
        svg = generator_from_image(image, options.svg) if options.method == "fit" else None
        super().__init__(prior, svg, num_steps, seed, options.output_size, options.video_every, options.svg,
                         num_steps)

    def initial_state(self) -> dict[str, Tensor]:
        return {"mse": torch.zeros(()), "initial_psnr": torch.tensor(self.psnr() if self.svg is not None else 0.0)}

    def advance(self, i: int) -> dict[str, float]:
        if self.svg is None:  # the tracer needs no steps
            return {}
        loss = (self.svg.render() - self.target.to(self.svg.points.device)).pow(2).mean()
        self.optimiser_step(loss)
        self.state["mse"] = loss.detach()
        self.record_frame(i)
        return {"mse": float(loss.detach())}

    def final(self) -> tuple[Scene | None, str, dict]:
        if self.svg is not None:
            return super().final()
        return self.traced(lambda: self.target * 2 - 1)

    @torch.no_grad()
    def render(self) -> Tensor:
        if self.svg is None and not self.finished:
            return self.target * 2 - 1
        return super().render()

    def psnr(self) -> float:
        """PSNR of the current render at the image's size against the image."""
        with torch.no_grad():
            if self.finished:
                from .svg_base import render_svg_text

                got = render_svg_text(self.final()[1], self.target.shape[-1])
            else:
                got = self.svg.render() * 2 - 1
            return psnr(to_uint8(got), to_uint8(self.target * 2 - 1))


@dataclass
class VectorizeConfig(Common, VectorizeOptions):
    image: str = ""
    height: Optional[int] = None  # default: the image's own size
    width: Optional[int] = None


def _build(cfg: VectorizeConfig, prior, inputs):
    image = inputs.source
    size = (cfg.height or image.size[1], cfg.width or image.size[0])
    if max(size) > MAX_SIDE:  # a photo: vectorise at a working size, not at 6000 x 6000
        k = MAX_SIDE / max(size)
        size = (max(1, round(size[0] * k)), max(1, round(size[1] * k)))
    inputs.image = to_tensor(resize(image, size, "image", inputs.notes))
    t = VectorizeTask(prior, inputs.image, cfg, cfg.run.steps, cfg.run.seed)
    return t, lambda result: {"psnr_db": t.psnr(), "initial_psnr_db": float(t.state["initial_psnr"])}


def _resolve(cfg: VectorizeConfig) -> None:
    if cfg.method == "trace":  # the tracer runs once: no optimisation steps
        cfg.run.steps = 1


register(TaskSpec(
    name="vectorize", help="a few flat shapes fitted to an image (data term only; --method trace: vtracer baseline)",
    config=VectorizeConfig, build=_build, inputs=("image",), methods=METHODS,
    method_help="trace is the vtracer baseline", needs_prior=False, check=check_svg_options, resolve=_resolve, order=80,
    about="No diffusion model: a few flat shapes are fitted to the picture by its pixels alone, at the input's "
          "resolution. Writes result.svg (output_size px), its cairosvg render result.png and optimisation.mp4.",
    examples=("dreamsampler3d samples samples",
              "dreamsampler3d vectorize --image samples/red-circle.png --out out/vectorize")))
