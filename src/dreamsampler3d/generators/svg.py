"""The SVG generator: filled shapes, each one or more closed cubic contours (an outline and its holes), whose
control points and colours an optimiser moves. Fills are opaque by default (flat icons are opaque shapes).
The generator renders supersampled (``render_scale`` x the canvas) and area-averages down to the canvas, so
what the prior sees is the picture a user sees at a larger size. See docs/svg.md."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from ..renderers.svg import Path, Scene, Shape, over, rect, render


@dataclass
class SVGConfig:
    num_paths: int = 24  # random starts: how many paths; image starts: the most paths kept
    segments: int = 4  # cubic segments per path of a random start
    init: str = "prior"  # prior (vectorise what the prior draws) | blobs | grid; image tasks start from the image
    blob_radius: float = 0.12  # fraction of the canvas side
    opaque: bool = True  # fills keep alpha 1 (flat styles); false: alpha is optimised too
    stroke: bool = False
    stroke_width: float = 1.0  # canvas units
    max_stroke_width: float = 6.0
    lr_points: float = 1.0  # canvas units per step (Adam)
    lr_colors: float = 0.01
    lr_widths: float = 0.1
    render_scale: int = 4  # optimise on a render this many times the canvas, area-averaged down
    samples: int = 1  # samples x samples supersampling on top (coverage is exact area already)
    prune_every: int = 100  # re-create dead paths every so many optimiser steps (0: never)
    min_opacity: float = 0.05
    min_area: float = 0.0015  # fraction of the canvas area (64 px^2 at 224 px)
    colours: int = 8  # most flat colours the vectoriser looks for
    fit_tolerance: float = 0.35  # canvas units: how far a vectorised outline may stray from the region
    keep_straight: bool = True  # segments that start straight stay straight (their handles follow the chord)
    cleanup: bool = True  # drop invisible / covered / tiny paths, merge same colours, simplify, at export
    decimals: int = 1  # digits after the point of result.svg's coordinates (at the output size)

    def problems(self) -> list[str]:
        """What is wrong with these values, as 'key: message' lines (config.validate reports the first)."""
        checks = [
            (self.num_paths >= 1, f"num_paths must be >= 1, got {self.num_paths}"),
            (self.segments >= 2, f"segments must be >= 2, got {self.segments}"),
            (self.init in ("prior", "blobs", "grid"), f"init must be prior, blobs or grid, got {self.init!r}"),
            (self.blob_radius > 0, f"blob_radius must be > 0, got {self.blob_radius}"),
            (0 < self.stroke_width <= self.max_stroke_width,
             f"stroke_width must lie in (0, max_stroke_width], got {self.stroke_width} and {self.max_stroke_width}"),
            (min(self.lr_points, self.lr_colors, self.lr_widths) >= 0, "the learning rates lr_* must be >= 0"),
            (self.render_scale >= 1 and self.samples >= 1, "render_scale and samples must be >= 1"),
            (self.prune_every >= 0, f"prune_every must be >= 0, got {self.prune_every}"),
            (0 <= self.min_opacity <= 1, f"min_opacity must lie in [0, 1], got {self.min_opacity}"),
            (0 <= self.min_area <= 1, f"min_area must lie in [0, 1] (a fraction of the canvas), got {self.min_area}"),
            (self.colours >= 2, f"colours must be >= 2, got {self.colours}"),
            (self.fit_tolerance > 0, f"fit_tolerance must be > 0, got {self.fit_tolerance}"),
            (0 <= self.decimals <= 6, f"decimals must lie in 0..6, got {self.decimals}"),
        ]
        return [message for ok, message in checks if not ok]


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
    """Shapes on a width x height canvas (canvas units = pixels of the prior's input at that size).

    ``layout[i]`` lists the segment counts of shape i's contours (the first is the outline, the rest holes,
    filled even-odd); all control points live in one parameter [P, 2], P = 3 x all segments, in that order.
    """

    def __init__(self, points: Tensor, fills: Tensor, config: Optional[SVGConfig] = None, width: float = 64.0,
                 height: float = 64.0, background: Sequence[float] = (1.0, 1.0, 1.0),
                 layout: Optional[list[list[int]]] = None, straight: Optional[Tensor] = None):
        """points [N, 3 S, 2] (one contour per shape) or [P, 2] with a layout; fills [N, 4] straight RGBA;
        straight [P / 3] bool: segments kept straight (default: those whose handles lie at the chord's thirds)."""
        super().__init__()
        self.config = c = config or SVGConfig()
        if fills.shape[0] == 0:
            raise ValueError("an SVG generator needs at least one path")
        if layout is None:
            layout = [[points.shape[1] // 3] for _ in range(points.shape[0])]
            points = points.reshape(-1, 2)
        self.layout = [list(map(int, segs)) for segs in layout]
        if 3 * sum(map(sum, self.layout)) != points.shape[0] or len(self.layout) != fills.shape[0]:
            raise ValueError("points, fills and layout disagree")
        self.width, self.height = float(width), float(height)
        self.points = nn.Parameter(points.float().clone())  # [P, 2]
        fills = fills.float().clone()
        if c.opaque:
            fills[:, 3] = 1.0
        self.fills = nn.Parameter(fills)  # [N, 4]
        n = fills.shape[0]
        self.strokes = nn.Parameter(torch.tensor([[0.0, 0.0, 0.0, 1.0]]).repeat(n, 1)) if c.stroke else None
        self.widths = nn.Parameter(torch.full((n,), c.stroke_width)) if c.stroke else None
        self.register_buffer("background", torch.tensor(list(background), dtype=torch.float32))
        start, c1, c2, end = self._segment_indices()
        if straight is None:
            p = self.points.detach()
            chord = p[end] - p[start]  # [S, 2]
            off = torch.maximum((p[c1] - p[start] - chord / 3).norm(dim=-1), (p[c2] - p[start] - 2 * chord / 3).norm(dim=-1))
            straight = off <= 1e-4 * (1.0 + chord.norm(dim=-1))
        self.register_buffer("straight", straight.bool().clone())

    def _segment_indices(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Indices into ``points`` of each segment's start, handles and end, each [P / 3] (contours wrap)."""
        start, end, k = [], [], 0
        for segs in self.layout:
            for s in segs:
                idx = torch.arange(s) * 3 + k
                start.append(idx)
                end.append(torch.roll(idx, -1))
                k += 3 * s
        start_t, end_t = torch.cat(start), torch.cat(end)
        return start_t, start_t + 1, start_t + 2, end_t
    # ------------------------------------------------------------------ construction
    @classmethod
    def from_outlines(cls, outlines: list[list[Tensor]], fills: Tensor, config: SVGConfig, width: float,
                      height: float, background: Sequence[float]) -> "SVGGenerator":
        """outlines[i] = shape i's contours, each control points [3 S, 2]."""
        layout = [[c.shape[0] // 3 for c in contours] for contours in outlines]
        points = torch.cat([torch.as_tensor(c, dtype=torch.float32) for contours in outlines for c in contours])
        return cls(points, fills, config, width, height, background, layout)

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
        elif config.init in ("blobs", "prior"):  # a prior start replaces these before they are optimised
            centres = torch.rand(n, 2, generator=generator) * torch.tensor([width, height])
            radii = config.blob_radius * side * (0.5 + torch.rand(n, 1, generator=generator))
        else:
            raise ValueError(f"unknown init {config.init!r} (prior, blobs or grid)")
        points = torch.stack([circle_points(centres[i], radii[i], s) for i in range(n)])
        fills = torch.cat([torch.rand(n, 3, generator=generator), torch.ones(n, 1)], 1)
        return cls(points, fills, config, width, height, background,
                   straight=torch.zeros(n * s, dtype=torch.bool))

    def structure(self) -> dict:
        """What a checkpoint needs, besides the parameters, to rebuild this generator."""
        return {"layout": self.layout, "width": self.width, "height": self.height}

    @classmethod
    def from_structure(cls, structure: dict, state: dict[str, Tensor], config: SVGConfig) -> "SVGGenerator":
        return cls(state["points"], state["fills"], config, structure["width"], structure["height"],
                   state["background"].tolist(), structure["layout"], state["straight"])

    # ------------------------------------------------------------------ structure helpers
    def contours(self, points: Tensor | None = None) -> list[list[Tensor]]:
        """Per shape, its contours' control points [3 S, 2] (views into ``points``)."""
        p = self.points if points is None else points
        out, k = [], 0
        for segs in self.layout:
            shape = []
            for s in segs:
                shape.append(p[k:k + 3 * s])
                k += 3 * s
            out.append(shape)
        return out

    def shape_slices(self) -> list[slice]:
        out, k = [], 0
        for segs in self.layout:
            n = 3 * sum(segs)
            out.append(slice(k, k + n))
            k += n
        return out

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
        """The shapes over a full-canvas background rectangle (so exports look like the renders)."""
        backdrop = torch.cat([self.background, torch.ones(1, device=self.background.device)])
        shapes = [Shape([rect(0.0, 0.0, self.width, self.height)], fill=backdrop)]
        for i, contours in enumerate(self.contours()):
            paths = [Path(c, [3] * (c.shape[0] // 3), closed=True) for c in contours]
            shape = Shape(paths, fill=self.fills[i], fill_rule="evenodd" if len(paths) > 1 else "nonzero")
            if self.strokes is not None:
                shape.stroke, shape.stroke_width = self.strokes[i], self.widths[i]
                shape.linejoin = shape.linecap = "round"
            shapes.append(shape)
        return Scene(self.width, self.height, shapes)

    def render(self, size: int | None = None, samples: int | None = None, scale: int | None = None) -> Tensor:
        """RGB [1, 3, H, W] in [0, 1], H = size (default: the canvas height), rendered at ``scale`` x that
        (default ``render_scale``) and area-averaged down."""
        h = int(size or round(self.height))
        w = int(round(h * self.width / self.height))
        s = max(1, int(scale if scale is not None else self.config.render_scale))
        img = render(self.scene(), w * s, h * s, samples or self.config.samples)  # [sH, sW, 4] premultiplied
        rgb = over(img, self.background).permute(2, 0, 1).unsqueeze(0)  # [1, 3, sH, sW]
        return F.avg_pool2d(rgb, s) if s > 1 else rgb

    # ------------------------------------------------------------------ upkeep
    @torch.no_grad()
    def clamp_(self) -> None:
        self.fills.clamp_(0.0, 1.0)
        if self.config.opaque:
            self.fills[:, 3] = 1.0
        margin = 0.1 * max(self.width, self.height)
        self.points[..., 0].clamp_(-margin, self.width + margin)
        self.points[..., 1].clamp_(-margin, self.height + margin)
        if self.config.keep_straight and bool(self.straight.any()):
            start, c1, c2, end = (i[self.straight] for i in self._segment_indices())
            a, b = self.points[start], self.points[end]
            self.points[c1] = a + (b - a) / 3
            self.points[c2] = a + 2 * (b - a) / 3
        if self.strokes is not None:
            self.strokes.clamp_(0.0, 1.0)
            self.widths.clamp_(0.0, self.config.max_stroke_width)

    def areas(self) -> Tensor:
        """|shoelace area| of each shape's outline control polygon, [N] (a cheap proxy for the filled area)."""
        out = []
        for contours in self.contours(self.points.detach()):
            p = contours[0]
            q = torch.roll(p, -1, 0)
            out.append(0.5 * (p[:, 0] * q[:, 1] - q[:, 0] * p[:, 1]).sum().abs())
        return torch.stack(out)

    @torch.no_grad()
    def prune_(self, generator: torch.Generator | None = None) -> list[int]:
        """Re-create shapes whose opacity or area fell below the thresholds as fresh blobs; returns their
        indices (holes collapse onto the new blob's centre)."""
        c = self.config
        dead = (self.fills[:, 3] < c.min_opacity) | (self.areas() < c.min_area * self.width * self.height)
        idx = torch.nonzero(dead).flatten().tolist()
        side = min(self.width, self.height)
        for i in idx:
            centre = torch.rand(2, generator=generator) * torch.tensor([self.width, self.height])
            radius = c.blob_radius * side * (0.5 + torch.rand(1, generator=generator))
            contours = self.contours()[i]
            contours[0].copy_(circle_points(centre, radius, contours[0].shape[0] // 3).to(self.points))
            for hole in contours[1:]:
                hole.copy_(centre.to(self.points).expand_as(hole))
            self.fills[i] = torch.cat([torch.rand(3, generator=generator), torch.ones(1)]).to(self.fills)
            sl = self.shape_slices()[i]
            self.straight[sl.start // 3:sl.stop // 3] = False
        return idx
