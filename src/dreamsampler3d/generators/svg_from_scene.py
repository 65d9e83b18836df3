"""Turn an imported SVG scene into the SVG generator's uniform layout (closed cubic paths, S segments each)
without changing its geometry: lines and quadratics are raised to exact cubics, and the longest cubics are
split in half (de Casteljau) until every path has the same number of segments."""

from __future__ import annotations

import torch
from torch import Tensor

from ..renderers.svg import Scene
from .svg import SVGConfig, SVGGenerator


def _cubics(points: Tensor, degrees: list[int], closed: bool) -> list[Tensor]:
    """One subpath -> its segments as exact cubic control points, each [4, 2] (closed: back to the start)."""
    out, k = [], 0
    n = points.shape[0]
    for d in degrees:
        seg = [points[(k + j) % n] for j in range(d + 1)]
        if d == 1:
            p0, p1 = seg
            seg = [p0, p0 + (p1 - p0) / 3, p0 + 2 * (p1 - p0) / 3, p1]
        elif d == 2:
            p0, p1, p2 = seg
            seg = [p0, p0 + 2 * (p1 - p0) / 3, p2 + 2 * (p1 - p2) / 3, p2]
        out.append(torch.stack(seg))
        k += d
    if not closed and out:  # close an open outline with a straight edge, as a fill would
        p0, p1 = out[-1][-1], out[0][0]
        out.append(torch.stack([p0, p0 + (p1 - p0) / 3, p0 + 2 * (p1 - p0) / 3, p1]))
    return out


def _split(c: Tensor) -> tuple[Tensor, Tensor]:
    """de Casteljau at t = 1/2: [4, 2] -> two [4, 2] halves tracing the same curve."""
    p01, p12, p23 = (c[0] + c[1]) / 2, (c[1] + c[2]) / 2, (c[2] + c[3]) / 2
    a, b = (p01 + p12) / 2, (p12 + p23) / 2
    m = (a + b) / 2
    return torch.stack([c[0], p01, a, m]), torch.stack([m, b, p23, c[3]])


def _pad(segments: list[Tensor], count: int) -> list[Tensor]:
    segs = list(segments)
    while len(segs) < count:
        lengths = [float((s[3] - s[0]).norm() + (s[1] - s[0]).norm() + (s[2] - s[3]).norm()) for s in segs]
        i = max(range(len(segs)), key=lengths.__getitem__)
        segs[i:i + 1] = list(_split(segs[i]))
    return segs


def _solid(paint) -> Tensor | None:
    """A solid RGBA for any paint: gradients become the mean of their stops."""
    if paint is None:
        return None
    if isinstance(paint, Tensor):
        return paint.detach().float()
    return paint.colors.detach().float().mean(0)


def _is_backdrop(shape, scene: Scene) -> bool:
    pts = torch.cat([p.points for p in shape.paths])
    lo, hi = pts.min(0).values, pts.max(0).values
    return bool(lo[0] <= 0.01 * scene.width and lo[1] <= 0.01 * scene.height
                and hi[0] >= 0.99 * scene.width and hi[1] >= 0.99 * scene.height)


def generator_from_scene(scene: Scene, config: SVGConfig, canvas: int, max_segments: int = 32) -> SVGGenerator:
    """One generator path per shape outline (first subpath; holes are dropped), on a canvas x canvas grid."""
    shapes = [s for s in scene.shapes if s.paths and _solid(s.fill if s.fill is not None else s.stroke) is not None]
    if not shapes:
        raise ValueError("the SVG has no filled or stroked shapes")
    background = (1.0, 1.0, 1.0)
    if len(shapes) > 1 and _is_backdrop(shapes[0], scene) and shapes[0].fill is not None:
        background = tuple(float(v) for v in _solid(shapes[0].fill)[:3])
        shapes = shapes[1:]
    outlines = [_cubics(s.paths[0].points.detach().float(), s.paths[0].degrees, s.paths[0].closed) for s in shapes]
    count = min(max(config.segments, max(len(o) for o in outlines)), max_segments)
    points, fills = [], []
    scale = torch.tensor([canvas / scene.width, canvas / scene.height])
    for shape, outline in zip(shapes, outlines):
        if len(outline) > count:  # too detailed for the budget: keep every k-th segment end (approximate)
            step = len(outline) / count
            outline = [outline[int(i * step)] for i in range(count)]
        segs = _pad(outline, count)
        ctrl = torch.stack([s[:3] for s in segs]).reshape(-1, 2)  # [3 S, 2]: start, c1, c2 of each segment
        points.append(ctrl * scale)
        colour = _solid(shape.fill if shape.fill is not None else shape.stroke).clone()
        colour[3] = colour[3] * float(shape.opacity if not isinstance(shape.opacity, Tensor) else shape.opacity.detach())
        fills.append(colour)
    cfg = SVGConfig(**{**config.__dict__, "segments": count})
    return SVGGenerator(torch.stack(points), torch.stack(fills), cfg, canvas, canvas, background)
