"""Turn an imported SVG scene into the SVG generator's layout (filled shapes of closed cubic contours) without
changing its geometry: each fill keeps its holes (Skia resolves the fill rule into non-overlapping contours),
each stroke becomes the outline it paints, and lines and quadratics are raised to exact cubics."""

from __future__ import annotations

import numpy as np
import pathops
import torch
from torch import Tensor

from ..errors import UserError
from ..renderers.svg import Path, Scene, Shape
from .svg import SVGConfig, SVGGenerator
from .svg_cleanup import from_skia, to_skia

_CAPS = {"butt": pathops.LineCap.BUTT_CAP, "round": pathops.LineCap.ROUND_CAP, "square": pathops.LineCap.SQUARE_CAP}
_JOINS = {"miter": pathops.LineJoin.MITER_JOIN, "round": pathops.LineJoin.ROUND_JOIN,
          "bevel": pathops.LineJoin.BEVEL_JOIN}
# Skia's simplify costs grow with the pairs of segments that may cross: 90,000 such pairs (500 random cubics)
# take 0.7-6 s, and a 12.9 KB hostile path took 30 s. Real icons stay far below: at most 384 segments and 1,504
# pairs per shape over 2,400 OpenMoji, Font Awesome, Lucide, Feather, Heroicons, Twemoji and Fluent icons.
MAX_OUTLINE_SEGMENTS = 4000  # per shape (fill or stroke outline)
MAX_CROSSING_PAIRS = 20_000  # per shape: segment pairs whose bounding boxes overlap
MAX_DOCUMENT_PAIRS = 60_000  # summed over the document


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


def _outline(shape: Shape, stroke: bool, budget: list[int]) -> list[Path]:
    """The area a shape's fill (or stroke) paints, as non-overlapping closed contours. ``budget`` holds the
    crossing pairs the document may still spend; refused before Skia starts when an outline would overspend."""
    sk = to_skia(shape)
    if stroke:
        width = float(shape.stroke_width.detach() if isinstance(shape.stroke_width, Tensor) else shape.stroke_width)
        _check_work(segment_boxes(sk), "path", budget, spend=False)  # before stroking multiplies it
        sk.stroke(width, _CAPS.get(shape.linecap, _CAPS["butt"]), _JOINS.get(shape.linejoin, _JOINS["miter"]),
                  float(shape.miterlimit))
        sk.convertConicsToQuads()  # round caps and joins are conics, which simplify does not take
        sk.fillType = pathops.FillType.WINDING
    _check_work(segment_boxes(sk), "stroke outline" if stroke else "path", budget)
    try:
        simple = pathops.simplify(sk, fix_winding=True)
    except pathops.PathOpsError:
        raise UserError("svg: a path's outline could not be resolved (Skia failed on its self-intersections); "
                        "simplify the path first") from None
    return from_skia(simple, next(p.points for p in shape.paths))


def segment_boxes(sk: pathops.Path) -> np.ndarray:
    """Bounding boxes [N, 4] (x0, y0, x1, y1) of a Skia path's segments."""
    out: list[tuple[float, float, float, float]] = []
    last = start = (0.0, 0.0)
    for verb, pts in sk:
        if verb == pathops.PathVerb.MOVE:
            last = start = pts[0]
        elif verb == pathops.PathVerb.CLOSE:
            last = start
        elif pts:
            xs, ys = zip(last, *pts)
            out.append((min(xs), min(ys), max(xs), max(ys)))
            last = pts[-1]
    return np.asarray(out, dtype=np.float64).reshape(-1, 4)


def crossing_pairs(boxes: np.ndarray, chunk: int = 512) -> int:
    """Pairs of segments whose bounding boxes overlap: the work of resolving self-intersections."""
    x0, y0, x1, y1 = boxes.T  # [N] each
    total = 0
    for a in range(0, len(boxes), chunk):
        b = slice(a, a + chunk)
        hit = ((x0[b, None] <= x1[None]) & (x0[None] <= x1[b, None])
               & (y0[b, None] <= y1[None]) & (y0[None] <= y1[b, None]))  # [chunk, N]
        total += int(hit.sum())
    return (total - len(boxes)) // 2


def _check_work(boxes: np.ndarray, what: str, budget: list[int], spend: bool = True) -> None:
    if len(boxes) > MAX_OUTLINE_SEGMENTS:
        raise UserError(f"svg: a {what} has {len(boxes)} segments, over the limit of {MAX_OUTLINE_SEGMENTS} "
                        "for editing (simplify the path first)")
    pairs = crossing_pairs(boxes)
    if pairs > MAX_CROSSING_PAIRS or (spend and pairs > budget[0]):
        limit = MAX_CROSSING_PAIRS if pairs > MAX_CROSSING_PAIRS else MAX_DOCUMENT_PAIRS
        raise UserError(f"svg: a {what} crosses itself too often to edit ({pairs} overlapping segment pairs; "
                        f"the limit is {limit}); simplify the path first")
    if spend:
        budget[0] -= pairs


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


def canvas_for(width: float, height: float, canvas: int, multiple: int = 1) -> tuple[float, float, float, float, float]:
    """A canvas whose long side is ``canvas``, both sides multiples of ``multiple`` (what the prior's VAE and UNet
    take), holding a ``width`` x ``height`` document scaled uniformly and centred.
    Returns (canvas width, canvas height, scale, x offset, y offset)."""
    if multiple <= 1:
        return canvas, canvas * (height / width), canvas / width, 0.0, 0.0  # (h / w) first: 64 * 1e308 overflows
    def side(v: float) -> int:
        return max(multiple, int(round(v / multiple)) * multiple)
    w, h = (side(canvas), side(canvas * (height / width))) if width >= height else (side(canvas * (width / height)), side(canvas))
    scale = min(w / width, h / height)
    return float(w), float(h), scale, (w - scale * width) / 2, (h - scale * height) / 2


def generator_from_scene(scene: Scene, config: SVGConfig, canvas: int, multiple: int = 1) -> SVGGenerator:
    """One generator shape per painted fill or stroke, on a canvas ``canvas`` wide (long side, when ``multiple``
    > 1 rounds the sides to what the prior takes); an opaque full-canvas first shape becomes the background.
    Translucent input keeps its alpha (the generator is not made opaque)."""
    layers: list[tuple[list[Path], Tensor]] = []
    budget = [MAX_DOCUMENT_PAIRS]
    for shape in scene.shapes:
        if not shape.paths:
            continue
        opacity = float(shape.opacity.detach() if isinstance(shape.opacity, Tensor) else shape.opacity)
        for paint, stroke in ((shape.fill, False), (shape.stroke, True)):
            colour = _solid(paint)
            if colour is None:
                continue
            contours = _outline(shape, stroke, budget)
            if contours:
                layers.append((contours, torch.cat([colour[:3], colour[3:] * opacity])))
    if not layers:
        # a fill of no area, a hair-thin stroke: drawable on paper, nothing once outlined (the fuzz found this)
        raise UserError("the SVG has no shape with an area to edit (its fills and strokes are empty once outlined)")
    background = (1.0, 1.0, 1.0)
    first = Shape(layers[0][0])
    if len(layers) > 1 and _is_backdrop(first, scene) and float(layers[0][1][3]) >= 0.999:
        background = tuple(float(v) for v in layers[0][1][:3])
        layers = layers[1:]
    w, h, scale, dx, dy = canvas_for(float(scene.width), float(scene.height), canvas, multiple)
    shift = torch.tensor([dx, dy])
    outlines = [[as_cubics(c) * scale + shift for c in contours] for contours, _ in layers]
    fills = torch.stack([colour for _, colour in layers])
    opaque = config.opaque and bool((fills[:, 3] >= 0.999).all())
    cfg = SVGConfig(**{**config.__dict__, "opaque": opaque})
    return SVGGenerator.from_outlines(outlines, fills, cfg, w, h, background)
