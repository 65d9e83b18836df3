"""Vectorisation: fit SVG paths to an image with the data term alone (no prior is consulted)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..generators.svg import SVGConfig, SVGGenerator
from ..generators.svg_init import regions_to_paths
from ..io.images import psnr, to_uint8
from .svg_base import SVGTask


@dataclass
class VectorizeOptions:
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(segments=8, lr_points=0.3, prune_every=0))
    colours: int = 8  # k-means colours of the initial region vectorisation
    output_size: int = 512
    video_every: int = 5


class VectorizeTask(SVGTask):
    def __init__(self, prior, image: Tensor, options: VectorizeOptions, num_steps: int, seed: int):
        """image [1, 3, H, W] in [-1, 1]; the canvas is the image's size."""
        self.target = (image + 1) / 2  # [1, 3, H, W] in [0, 1]
        arr = to_uint8(image)
        h, w = arr.shape[:2]
        points, fills, background = regions_to_paths(arr, options.svg.num_paths, options.svg.segments, options.colours)
        svg = SVGGenerator(points, fills, options.svg, w, h, tuple(float(c) for c in background))
        super().__init__(prior, svg, num_steps, seed, options.output_size, options.video_every)
        self.options = options

    def initial_state(self) -> dict[str, Tensor]:
        self.initial_psnr = self.psnr()
        return {"mse": torch.zeros(())}

    def advance(self, i: int) -> dict[str, float]:
        loss = (self.svg.render() - self.target.to(self.svg.points.device)).pow(2).mean()
        self.optimiser_step(loss)
        self.state["mse"] = loss.detach()
        self.record_frame(i)
        return {"mse": float(loss.detach())}

    def psnr(self) -> float:
        with torch.no_grad():
            return psnr(to_uint8(self.render()), to_uint8(self.target * 2 - 1))
