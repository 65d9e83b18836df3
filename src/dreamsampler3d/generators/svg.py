"""The SVG generator: closed cubic paths whose control points, fill colours and stroke widths an optimiser
moves. Each parameter group has its own learning rate; colours and widths are clamped after every step;
paths that became invisible or tiny are re-initialised."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
from torch import Tensor

from ..renderers.svg import Path, Scene, Shape, over, rect, render


@dataclass
class SVGConfig:
    num_paths: int = 24
    segments: int = 4  # cubic segments per closed path
    init: str = "blobs"  # blobs | grid (image and svg come from their own constructors)
    blob_radius: float = 0.12  # fraction of the canvas side
    stroke: bool = False
    stroke_width: float = 1.0  # canvas units
    max_stroke_width: float = 6.0
    lr_points: float = 1.0  # canvas units per step (Adam)
    lr_colors: float = 0.01
    lr_widths: float = 0.1
    samples: int = 2  # samples x samples supersampling while optimising
    prune_every: int = 100
    min_opacity: float = 0.05
    min_area: float = 0.0015  # fraction of the canvas area (64 px^2 at 224 px)


def circle_points(centre: Tensor, radius: Tensor, segments: int) -> Tensor:
    """Control points [3 S, 2] of a closed S-segment cubic approximating a circle (first point on the right)."""
    k = 4.0 / 3.0 * math.tan(math.pi / (2 * segments))
    angles = torch.arange(segments, dtype=torch.float32) * (2 * math.pi / segments)
    on = torch.stack([torch.cos(angles), torch.sin(angles)], -1)  # [S, 2] anchors
    tangent = torch.stack([-torch.sin(angles), torch.cos(angles)], -1)
    nxt = torch.roll(on, -1, 0)
    nxt_tangent = torch.roll(tangent, -1, 0)
    pts = torch.stack([on, on + k * tangent, nxt - k * nxt_tangent], 1).reshape(-1, 2)  # [3 S, 2]
    return centre + radius * pts


class SVGGenerator(nn.Module):
    """N closed cubic paths on a width x height canvas (canvas units = pixels of the render at that size)."""

    def __init__(self, points: Tensor, fills: Tensor, config: Optional[SVGConfig] = None,
                 width: float = 64.0, height: float = 64.0, background: tuple[float, float, float] = (1.0, 1.0, 1.0)):
        """points [N, 3 S, 2]; fills [N, 4] straight RGBA."""
        super().__init__()
        self.config = c = config or SVGConfig()
        if points.shape[0] == 0:
            raise ValueError("an SVG generator needs at least one path")
        self.width, self.height = float(width), float(height)
        self.points = nn.Parameter(points.float().clone())
        self.fills = nn.Parameter(fills.float().clone())
        n = points.shape[0]
        self.strokes = nn.Parameter(torch.tensor([[0.0, 0.0, 0.0, 1.0]]).repeat(n, 1)) if c.stroke else None
        self.widths = nn.Parameter(torch.full((n,), c.stroke_width)) if c.stroke else None
        self.register_buffer("background", torch.tensor(background, dtype=torch.float32))

    # ------------------------------------------------------------------ construction
    @classmethod
    def random(cls, config: SVGConfig, width: float, height: float, generator: torch.Generator | None = None,
               background=(1.0, 1.0, 1.0)) -> "SVGGenerator":
        n, s = config.num_paths, config.segments
        side = min(width, height)
        if config.init == "grid":
            k = math.ceil(math.sqrt(n))
            ij = torch.stack(torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij"), -1).reshape(-1, 2)[:n]
            centres = (ij.float() + 0.5) / k * torch.tensor([width, height])
            radii = torch.full((n, 1), 0.45 * side / k)
        elif config.init == "blobs":
            centres = torch.rand(n, 2, generator=generator) * torch.tensor([width, height])
            radii = config.blob_radius * side * (0.5 + torch.rand(n, 1, generator=generator))
        else:
            raise ValueError(f"unknown init {config.init!r} (blobs or grid)")
        points = torch.stack([circle_points(centres[i], radii[i], s) for i in range(n)])
        fills = torch.cat([torch.rand(n, 3, generator=generator), torch.ones(n, 1)], 1)
        return cls(points, fills, config, width, height, background)

    def parameter_groups(self) -> list[dict]:
        c = self.config
        groups = [{"params": [self.points], "lr": c.lr_points, "name": "points"},
                  {"params": [self.fills], "lr": c.lr_colors, "name": "colors"}]
        if self.strokes is not None:
            groups += [{"params": [self.strokes], "lr": c.lr_colors, "name": "stroke_colors"},
                       {"params": [self.widths], "lr": c.lr_widths, "name": "widths"}]
        return groups

    # ------------------------------------------------------------------ rendering
    def scene(self) -> Scene:
        """The paths over a full-canvas background rectangle (so exports look like the renders)."""
        s = self.points.shape[1] // 3
        backdrop = torch.cat([self.background, torch.ones(1, device=self.background.device)])
        shapes = [Shape([rect(0.0, 0.0, self.width, self.height)], fill=backdrop)]
        for i in range(self.points.shape[0]):
            shape = Shape([Path(self.points[i], [3] * s, closed=True)], fill=self.fills[i])
            if self.strokes is not None:
                shape.stroke, shape.stroke_width = self.strokes[i], self.widths[i]
                shape.linejoin = shape.linecap = "round"
            shapes.append(shape)
        return Scene(self.width, self.height, shapes)

    def render(self, size: int | None = None, samples: int | None = None) -> Tensor:
        """RGB over the background, [1, 3, H, W] in [0, 1]; H = size (default: the canvas height)."""
        h = int(size or round(self.height))
        w = int(round(h * self.width / self.height))
        img = render(self.scene(), w, h, samples or self.config.samples)  # [H, W, 4] premultiplied, opaque
        return over(img, self.background).permute(2, 0, 1).unsqueeze(0)

    # ------------------------------------------------------------------ upkeep
    @torch.no_grad()
    def clamp_(self) -> None:
        self.fills.clamp_(0.0, 1.0)
        margin = 0.1 * max(self.width, self.height)
        self.points[..., 0].clamp_(-margin, self.width + margin)
        self.points[..., 1].clamp_(-margin, self.height + margin)
        if self.strokes is not None:
            self.strokes.clamp_(0.0, 1.0)
            self.widths.clamp_(0.0, self.config.max_stroke_width)

    def areas(self) -> Tensor:
        """|shoelace area| of each control polygon, [N] (a cheap proxy for the filled area)."""
        p = self.points.detach()
        q = torch.roll(p, -1, 1)
        return 0.5 * (p[..., 0] * q[..., 1] - q[..., 0] * p[..., 1]).sum(1).abs()

    @torch.no_grad()
    def prune_(self, generator: torch.Generator | None = None) -> int:
        """Re-create paths whose opacity or area fell below the thresholds; returns how many."""
        c = self.config
        dead = (self.fills[:, 3] < c.min_opacity) | (self.areas() < c.min_area * self.width * self.height)
        idx = torch.nonzero(dead).flatten()
        if idx.numel() == 0:
            return 0
        side = min(self.width, self.height)
        s = self.points.shape[1] // 3
        for i in idx.tolist():
            centre = torch.rand(2, generator=generator) * torch.tensor([self.width, self.height])
            radius = c.blob_radius * side * (0.5 + torch.rand(1, generator=generator))
            self.points[i] = circle_points(centre, radius, s).to(self.points)
            self.fills[i] = torch.cat([torch.rand(3, generator=generator), torch.ones(1)]).to(self.fills)
        return int(idx.numel())
