"""Vectorisation: a few flat shapes found in the image (``svg_init``), then fitted to it by the pixel loss
alone (no prior is consulted); ``--method trace`` is the off-the-shelf tracer baseline (vtracer)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..generators.svg import SVGConfig
from ..generators.svg_init import generator_from_image
from ..io.images import psnr, to_uint8
from ..renderers.svg import Scene
from .svg_base import SVGTask

METHODS = ("fit", "trace")


@dataclass
class VectorizeOptions:
    method: str = "fit"  # or trace (vtracer, the baseline)
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(lr_points=0.3, prune_every=0, render_scale=2))
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
        if self._final is None:
            from ..generators.trace import trace

            self._final = (None, trace(to_uint8(self.target * 2 - 1), self.output_size), {})
        return self._final

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
