"""Leave a file a designer can use: every shape outline made non-self-intersecting (Skia's PathOps), same-colour
shapes merged where that changes nothing visible, and shapes that are invisible, covered or too small to see
removed (leave-one-out against the render). The first shape, the backdrop, always stays. See docs/svg.md."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pathops
import torch
from torch import Tensor

from ..renderers.svg import Path, Scene, Shape, over, render


@dataclass
class CleanupConfig:
    size: int = 256  # render side on which changes are judged (the size a user looks at)
    invisible: float = 1.0 / 255  # removing a shape that changes no pixel by more than this is always right
    threshold: float = 24.0 / 255  # a pixel 'changes visibly' by more than this ...
    min_fraction: float = 0.002  # ... and a shape is visible when it changes at least this share of pixels
    # "the same colour" to a person: two fills this close in every channel merge, when that changes no pixel by more
    # than this (restore-svg left one star as two paths, #7e34b1 and #8228b4: 12/255 apart)
    merge_tolerance: float = 16.0 / 255


# ---------------------------------------------------------------------------- Skia conversion
def to_skia(shape: Shape) -> pathops.Path:
    """A shape's contours as a Skia path with its fill rule."""
    sk = pathops.Path()
    for p in shape.paths:
        pts = p.points.detach().double().cpu().tolist()
        if not pts or not p.degrees:
            continue
        n, k = len(pts), 0
        sk.moveTo(*pts[0])
        for d in p.degrees:
            ctrl = [pts[(k + j) % n] for j in range(1, d + 1)]
            (sk.lineTo, sk.quadTo, sk.cubicTo)[d - 1](*[v for xy in ctrl for v in xy])
            k += d
        if p.closed:
            sk.close()
    sk.fillType = pathops.FillType.EVEN_ODD if shape.fill_rule == "evenodd" else pathops.FillType.WINDING
    return sk


def from_skia(sk: pathops.Path, like: Tensor) -> list[Path]:
    """Closed contours of a Skia path (lines, quadratics, cubics) as renderer paths."""
    out: list[Path] = []
    pts: list[tuple[float, float]] = []
    degrees: list[int] = []

    def finish() -> None:
        if degrees:
            if pts[-1] != pts[0]:  # close with a straight edge, as a fill does
                degrees.append(1)
            else:
                pts.pop()
            out.append(Path(torch.tensor(pts, dtype=like.dtype, device=like.device), list(degrees), closed=True))
        pts.clear()
        degrees.clear()

    if any(verb == pathops.PathVerb.CONIC for verb, _ in sk):
        sk = pathops.Path(sk)
        sk.convertConicsToQuads()
    for verb, args in sk:
        if verb == pathops.PathVerb.MOVE:
            finish()
            pts.append(tuple(args[0]))
        elif verb in (pathops.PathVerb.LINE, pathops.PathVerb.QUAD, pathops.PathVerb.CUBIC):
            pts.extend(tuple(a) for a in args)
            degrees.append(len(args))
        elif verb == pathops.PathVerb.CLOSE:
            finish()
    finish()
    return out


def simplify(shape: Shape) -> Shape | None:
    """The same filled area as non-overlapping, non-self-intersecting contours (None when it is empty)."""
    like = next(p.points for p in shape.paths)
    try:
        sk = pathops.simplify(to_skia(shape), fix_winding=True)
    except pathops.PathOpsError:
        return shape
    paths = from_skia(sk, like)
    if not paths:
        return None
    return replace(shape, paths=paths, fill_rule="nonzero")


def union(a: Shape, b: Shape) -> Shape:
    """b's paint over the union of a's and b's areas."""
    sk = pathops.Path()
    for s in (a, b):
        sk.addPath(pathops.simplify(to_skia(s), fix_winding=True))
    sk.fillType = pathops.FillType.WINDING
    paths = from_skia(pathops.simplify(sk, fix_winding=True), next(p.points for p in b.paths))
    return replace(b, paths=paths, fill_rule="nonzero")


# ---------------------------------------------------------------------------- judging by the render
def _render(scene: Scene, size: int) -> Tensor:
    """RGB [H, W, 3] of a scene at ``size`` px wide (over white)."""
    h = max(1, round(size * scene.height / scene.width))
    with torch.no_grad():
        return over(render(scene, size, h), 1.0)


def _without(scene: Scene, i: int) -> Scene:
    return Scene(scene.width, scene.height, scene.shapes[:i] + scene.shapes[i + 1:])


def _change(a: Tensor, b: Tensor, threshold: float) -> tuple[float, float]:
    """(max abs difference, share of pixels changed by more than threshold) between RGB renders."""
    d = (a - b).abs().amax(-1)
    return float(d.max()), float((d > threshold).float().mean())


def _solid(shape: Shape) -> Tensor | None:
    f = shape.fill
    return f.detach() if isinstance(f, Tensor) and shape.stroke is None else None


# ---------------------------------------------------------------------------- the passes
def remove_unseen(scene: Scene, cfg: CleanupConfig, keep: frozenset[int] = frozenset()) -> tuple[Scene, int]:
    """Leave-one-out: drop shapes whose removal is invisible (<= cfg.invisible everywhere) or changes less than
    cfg.min_fraction of the pixels visibly; each removal is judged against the scene as it is then. Shapes
    whose id() is in ``keep`` stay."""
    removed = 0
    first = _render(scene, cfg.size)  # all removals together stay within the same bounds of the original
    changed = True
    while changed:
        changed = False
        base = _render(scene, cfg.size)
        impact = []
        for i in range(1, len(scene.shapes)):
            if id(scene.shapes[i]) in keep:
                continue
            worst, share = _change(base, _render(_without(scene, i), cfg.size), cfg.threshold)
            impact.append((share, worst, i, scene.shapes[i]))
        for share, worst, _, shape in sorted(impact, key=lambda r: r[:3]):
            if not (worst <= cfg.invisible or share < cfg.min_fraction):
                continue
            i = next(k for k, s in enumerate(scene.shapes) if s is shape)
            candidate = _without(scene, i)  # judged again against the scene as it is now, and the original
            after = _render(candidate, cfg.size)
            w_now, s_now = _change(base, after, cfg.threshold)
            w_all, s_all = _change(first, after, cfg.threshold)
            if (w_now <= cfg.invisible and w_all <= cfg.invisible) or (s_now < cfg.min_fraction and s_all < cfg.min_fraction):
                scene, base, removed, changed = candidate, after, removed + 1, True
    return scene, removed


def merge_same_colour(scene: Scene, cfg: CleanupConfig, keep: frozenset[int] = frozenset()) -> tuple[Scene, int]:
    """Merge pairs of solid shapes of (nearly) the same colour into one path where the render stays within
    cfg.merge_tolerance (it would not where a shape between them in painting order overlaps one of them).

    Judged against what came in, not against the previous merge: a merged path takes the upper shape's colour,
    which must be within the tolerance of every shape it stands for, and the render after each merge within the
    tolerance of the render before the first. Judged pair by pair, twelve bands 10/255 apart merged one after
    another into one path in the last band's colour, 110/255 from the first."""
    merged = 0
    first = _render(scene, cfg.size)
    # the input colours each shape stands for (its own, or those of every shape merged into it), by position
    members: list[list[Tensor]] = [[c] if (c := _solid(s)) is not None else [] for s in scene.shapes]
    changed = True
    while changed:
        changed = False
        shapes = scene.shapes
        for j in range(2, len(shapes)):
            for i in range(1, j):
                if id(shapes[i]) in keep or id(shapes[j]) in keep:
                    continue
                ci, cj = _solid(shapes[i]), _solid(shapes[j])
                if ci is None or cj is None:
                    continue
                colours = members[i] + members[j]
                if max(float((c - cj).abs().max()) for c in colours) > cfg.merge_tolerance:
                    continue
                try:
                    both = union(shapes[i], shapes[j])
                except pathops.PathOpsError:
                    continue
                candidate = Scene(scene.width, scene.height, shapes[:i] + shapes[i + 1:j] + [both] + shapes[j + 1:])
                worst, _ = _change(first, _render(candidate, cfg.size), cfg.threshold)
                if worst <= cfg.merge_tolerance:
                    members = members[:i] + members[i + 1:j] + [colours] + members[j + 1:]
                    scene, merged, changed = candidate, merged + 1, True
                    break
            if changed:
                break
    return scene, merged


def clean_scene(scene: Scene, cfg: CleanupConfig | None = None, keep: tuple[Shape, ...] = ()) -> tuple[Scene, dict]:
    """All passes; returns the clean scene and counts for metrics.json. Shapes in ``keep`` (by identity) are
    left exactly as they are (an edit's untouched shapes)."""
    cfg = cfg or CleanupConfig()
    kept = frozenset(id(s) for s in keep)
    shapes = [scene.shapes[0]]
    for shape in scene.shapes[1:]:
        s = simplify(shape) if shape.stroke is None and id(shape) not in kept else shape
        if s is not None:
            shapes.append(s)
    dropped_empty = len(scene.shapes) - len(shapes)
    scene = Scene(scene.width, scene.height, shapes)
    scene, removed = remove_unseen(scene, cfg, kept)
    scene, merged = merge_same_colour(scene, cfg, kept)
    return scene, {"removed_paths": removed + dropped_empty, "merged_paths": merged}
