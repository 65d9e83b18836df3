"""Turn an imported SVG scene into the SVG generator's layout (filled shapes of closed cubic contours) without
changing its geometry: each fill keeps its holes (Skia resolves the fill rule into non-overlapping contours),
each stroke becomes the outline it paints, and lines and quadratics are raised to exact cubics."""

from __future__ import annotations

import pathops
import torch
from torch import Tensor

from ..renderers.svg import Path, Scene, Shape
from .svg import SVGConfig, SVGGenerator
from .svg_cleanup import from_skia, to_skia

_CAPS = {"butt": pathops.LineCap.BUTT_CAP, "round": pathops.LineCap.ROUND_CAP, "square": pathops.LineCap.SQUARE_CAP}
_JOINS = {"miter": pathops.LineJoin.MITER_JOIN, "round": pathops.LineJoin.ROUND_JOIN,
          "bevel": pathops.LineJoin.BEVEL_JOIN}


def as_cubics(path: Path) -> Tensor:
    """A closed contour of lines / quadratics / cubics -> control points [3 S, 2] of exact cubics."""
    p = path.points.detach().float()
    n, k, out = p.shape[0], 0, []
    for d in path.degrees:
        seg = [p[(k + j) % n] for j in range(d + 1)]
        if d == 1:
            a, b = seg
            seg = [a, a + (b - a) / 3, a + 2 * (b - a) / 3, b]
        elif d == 2:
            a, c, b = seg
            seg = [a, a + 2 * (c - a) / 3, b + 2 * (c - b) / 3, b]
        out.append(torch.stack(seg[:3]))
        k += d
    return torch.cat(out)  # [3 S, 2]


def _outline(shape: Shape, stroke: bool) -> list[Path]:
    """The area a shape's fill (or stroke) paints, as non-overlapping closed contours."""
    sk = to_skia(shape)
    if stroke:
        width = float(shape.stroke_width.detach() if isinstance(shape.stroke_width, Tensor) else shape.stroke_width)
        sk.stroke(width, _CAPS.get(shape.linecap, _CAPS["butt"]), _JOINS.get(shape.linejoin, _JOINS["miter"]),
                  float(shape.miterlimit))
        sk.fillType = pathops.FillType.WINDING
    return from_skia(pathops.simplify(sk, fix_winding=True), next(p.points for p in shape.paths))


def _solid(paint) -> Tensor | None:
    """A solid RGBA for any paint: gradients become the mean of their stops."""
    if paint is None:
        return None
    if isinstance(paint, Tensor):
        return paint.detach().float()
    return paint.colors.detach().float().mean(0)


def _is_backdrop(shape: Shape, scene: Scene) -> bool:
    pts = torch.cat([p.points for p in shape.paths])
    lo, hi = pts.min(0).values, pts.max(0).values
    return bool(lo[0] <= 0.01 * scene.width and lo[1] <= 0.01 * scene.height
                and hi[0] >= 0.99 * scene.width and hi[1] >= 0.99 * scene.height)


def generator_from_scene(scene: Scene, config: SVGConfig, canvas: int) -> SVGGenerator:
    """One generator shape per painted fill or stroke, on a canvas ``canvas`` wide; an opaque full-canvas first
    shape becomes the background. Translucent input keeps its alpha (the generator is not made opaque)."""
    layers: list[tuple[list[Path], Tensor]] = []
    for shape in scene.shapes:
        if not shape.paths:
            continue
        opacity = float(shape.opacity.detach() if isinstance(shape.opacity, Tensor) else shape.opacity)
        for paint, stroke in ((shape.fill, False), (shape.stroke, True)):
            colour = _solid(paint)
            if colour is None:
                continue
            contours = _outline(shape, stroke)
            if contours:
                layers.append((contours, torch.cat([colour[:3], colour[3:] * opacity])))
    if not layers:
        raise ValueError("the SVG has no filled or stroked shapes")
    background = (1.0, 1.0, 1.0)
    first = Shape(layers[0][0])
    if len(layers) > 1 and _is_backdrop(first, scene) and float(layers[0][1][3]) >= 0.999:
        background = tuple(float(v) for v in layers[0][1][:3])
        layers = layers[1:]
    scale = canvas / float(scene.width)  # uniform: the canvas keeps the document's aspect
    outlines = [[as_cubics(c) * scale for c in contours] for contours, _ in layers]
    fills = torch.stack([colour for _, colour in layers])
    opaque = config.opaque and bool((fills[:, 3] >= 0.999).all())
    cfg = SVGConfig(**{**config.__dict__, "opaque": opaque})
    return SVGGenerator.from_outlines(outlines, fills, cfg, canvas, canvas * scene.height / scene.width, background)
