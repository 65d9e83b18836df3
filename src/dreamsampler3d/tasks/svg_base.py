"""What every SVG task shares: the generator's optimiser, clamping and pruning after each step, the PNG
render, and the exports (result.svg at any size, an optimisation video)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from torch import Tensor

from ..generators.svg import SVGGenerator
from ..io.video import save_video
from .base import SamplingTask


class SVGTask(SamplingTask):
    def __init__(self, prior, svg: SVGGenerator, num_steps: int, seed: int, output_size: int, video_every: int):
        super().__init__(prior, num_steps, seed)
        self.svg = svg
        self.output_size = output_size
        self.video_every = video_every
        self.frames: list[Tensor] = []
        self.inner_steps_done = 0

    def configure_optimizers(self):
        return torch.optim.Adam(self.svg.parameter_groups(), betas=(0.9, 0.9))

    def optimiser_step(self, loss: Tensor) -> None:
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        self.svg.clamp_()
        self.inner_steps_done += 1
        every = self.svg.config.prune_every
        if every and self.inner_steps_done % every == 0:
            self.svg.prune_(self.generator)

    def latents(self) -> Tensor:
        """E(g(theta)) [1, C, h, w], differentiable in the paths."""
        return self.prior.encode(self.svg.render() * 2 - 1)

    def fit_latents(self, target: Tensor, steps: int) -> Tensor:
        """``steps`` optimiser steps of 0.5 ||E(g(theta)) - target||^2 (DreamSampler's inner loop)."""
        for _ in range(steps):
            loss = 0.5 * (self.latents() - target).pow(2).mean()
            self.optimiser_step(loss)
        return loss.detach()

    def record_frame(self, i: int) -> None:
        if self.video_every and i % self.video_every == 0:
            with torch.no_grad():
                self.frames.append(self.svg.render()[0] * 2 - 1)

    @torch.no_grad()
    def render(self) -> Tensor:
        return self.svg.render() * 2 - 1

    @torch.no_grad()
    def export(self, out: Path) -> dict:
        from ..renderers.svg.svg_export import save_svg

        path = out / "result.svg"
        tmp = out / ".result.svg.tmp"
        height = self.output_size * self.svg.height / self.svg.width
        text = re.sub(r'width="[^"]*" height="[^"]*"', f'width="{self.output_size}" height="{height:g}"',
                      save_svg(self.svg.scene()), count=1)  # any output size: the viewBox keeps the canvas
        tmp.write_text(text)
        os.replace(tmp, path)
        files = {"svg": path.name}
        if self.frames:
            files["video"] = save_video(out / "optimisation.mp4", self.frames, fps=8).name
        return files
