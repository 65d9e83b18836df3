"""SVG quality measured from the SVG file itself, as a designer would judge it.

Everything here reads the SVG *text* and, where pixels matter, renders it with cairosvg (an
independent renderer, not our differentiable rasteriser), so the numbers cannot flatter our
own renderer:

* ``visible_elements``: which drawable elements actually change the picture (delete-one-and-
  re-render), so covered, transparent and sub-pixel paths count as waste.
* ``stray_ink``: fraction of pixels that are neither the background nor an asked colour, away
  from the anti-aliased rims of the objects (translucent blobs, stray discs).
* ``path_segments``: segment count per element (path complexity).
* ``self_intersecting``: filled outlines that cross themselves (fill-rule dependent artwork).
* ``svg_report``: all of the above as one dict.

Drawable elements are ``path, rect, circle, ellipse, polygon, polyline, line`` anywhere in the
tree (inside ``<g>`` too) except inside containers that are never rendered directly
(``defs, clipPath, mask, pattern, marker, symbol``): those are referenced resources, not ink.
"""

from __future__ import annotations

import copy
import io
import math
import re
import xml.etree.ElementTree as ET

import numpy as np

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
DRAWABLE = frozenset({"path", "rect", "circle", "ellipse", "polygon", "polyline", "line"})
NOT_RENDERED = frozenset({"defs", "clipPath", "mask", "pattern", "marker", "symbol"})
_INDEX_ATTR = "data-svg-quality-index"  # temporary tag mapping svgelements shapes to XML elements


# ---------------------------------------------------------------- parsing


def _local(tag) -> str:
    """Tag without its {namespace}; comments/PIs (non-str tags) give ''."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _parse(svg_text: str) -> ET.Element:
    """Parse SVG text, registering its namespace prefixes so re-serialised text stays a valid,
    un-prefixed SVG (ElementTree would otherwise write ns0:svg, which renderers still accept
    but which is not what the file said)."""
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    it = ET.iterparse(io.BytesIO(svg_text.encode("utf-8")), events=("start-ns",))
    for _event, (prefix, uri) in it:
        if prefix and uri not in (SVG_NS, XLINK_NS) and not re.fullmatch(r"ns\d+", prefix):
            ET.register_namespace(prefix, uri)
    return it.root


def _to_text(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def _drawables(root: ET.Element) -> list[tuple[ET.Element, ET.Element]]:
    """(parent, element) for each drawable element in document order, skipping resources."""
    out: list[tuple[ET.Element, ET.Element]] = []

    def walk(parent: ET.Element) -> None:
        for child in parent:
            name = _local(child.tag)
            if name in NOT_RENDERED:
                continue
            if name in DRAWABLE:
                out.append((parent, child))
            walk(child)  # shapes have no drawable children, but be permissive

    walk(root)
    return out


def drawable_elements(svg_text: str) -> list[ET.Element]:
    """The drawable XML elements (document order) that all per-element lists here refer to.

    Returned as ``xml.etree`` elements of a fresh parse, so callers can read tag/attributes.
    """
    return [el for _parent, el in _drawables(_parse(svg_text))]


# ---------------------------------------------------------------- rendering


def _png_to_rgb(png: bytes) -> np.ndarray:
    """PNG bytes -> uint8 [H, W, 3], straight-alpha RGBA composited over white."""
    from PIL import Image

    rgba = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.float32)  # [H, W, 4]
    alpha = rgba[..., 3:4] / 255.0                                                     # [H, W, 1]
    rgb = rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)                                # [H, W, 3]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def render_svg(svg_text: str, size: int = 256) -> np.ndarray:
    """Render SVG text with cairosvg -> uint8 [H, W, 3] over white, W = ``size``.

    cairosvg is the independent judge: what a viewer shows. Square documents give exactly
    [size, size, 3]; non-square ones keep their own aspect (H = size * height / width) instead
    of being stretched.
    """
    import cairosvg

    data = svg_text.encode("utf-8")
    try:
        img = _png_to_rgb(cairosvg.svg2png(bytestring=data, output_width=size))  # [H, size, 3]
    except ValueError:  # 'The SVG size is undefined': a thin document (1000 x 1) rounds to 0 rows at this width
        img = _png_to_rgb(cairosvg.svg2png(bytestring=data, output_width=size, output_height=1))
    if img.shape[0] != size and abs(img.shape[0] - size) <= 1:
        # square up to rounding of the intrinsic size: force exactly size x size
        img = _png_to_rgb(cairosvg.svg2png(bytestring=data, output_width=size,
                                           output_height=size))
    return img


# ---------------------------------------------------------------- visibility


def _visibility(svg_text: str, size: int, min_fraction: float,
                threshold: int) -> tuple[list[bool], np.ndarray]:
    """Per-element visibility flags and the full render (reused by svg_report)."""
    root = _parse(svg_text)
    items = _drawables(root)
    base = render_svg(_to_text(root), size)  # [H, W, 3]; rendered from the same serialisation
    base_i = base.astype(np.int16)
    flags: list[bool] = []
    for parent, el in items:
        idx = list(parent).index(el)
        parent.remove(el)
        try:
            img = render_svg(_to_text(root), size)  # [H, W, 3]
        finally:
            parent.insert(idx, el)
        changed = (np.abs(img.astype(np.int16) - base_i) > threshold).any(axis=-1)  # [H, W]
        flags.append(bool(changed.mean() >= min_fraction))
    return flags, base


def visible_elements(svg_text: str, size: int = 256, min_fraction: float = 0.002,
                     threshold: int = 24) -> list[bool]:
    """Per drawable element: does deleting it alone visibly change the cairosvg render?

    A designer counts the paths that show. An element is visible when removing it changes at
    least ``min_fraction`` of the pixels (0.2 % = 131 px at 256 px, about a 13 px disc) by more
    than ``threshold``/255 in some channel. Fully covered, fully transparent and sub-pixel
    elements therefore count as not visible. The render is composited over white, so an
    element that is (near-)white on nothing is also invisible. One render per element.
    """
    return _visibility(svg_text, size, min_fraction, threshold)[0]


def count_visible(svg_text: str, size: int = 256, min_fraction: float = 0.002,
                  threshold: int = 24) -> int:
    """Number of visible drawable elements (see ``visible_elements``)."""
    return sum(visible_elements(svg_text, size, min_fraction, threshold))


# ---------------------------------------------------------------- stray ink


def stray_ink(image: np.ndarray, background: tuple[int, int, int],
              colours: list[tuple[int, int, int]], band: int = 2,
              tolerance: float = 48.0) -> float:
    """Fraction of ALL pixels that are stray ink: neither background nor an asked colour.

    A pixel is accounted for when its Euclidean RGB distance to the background or to one of the
    asked ``colours`` is <= ``tolerance``. Pixels within ``band`` px (Chebyshev, i.e. a
    (2*band+1)^2 square dilation) of an object pixel (within ``tolerance`` of an asked colour)
    are excluded: they are the anti-aliased rims of the objects, and of the object/background
    boundary, not stray ink. What remains unexplained is ink a designer would call a defect:
    translucent blobs, discs of a colour nobody asked for, smudges away from the objects.

    Why 48: the named colours of the project (``dreamsampler3d.data.icons.COLOURS``) are
    mostly >= ~110 apart in RGB (closest pair orange/yellow at 80), so 48 keeps a pixel that
    is recognisably "that colour" (flat cairosvg fills sit at distance ~0; an optimised colour
    or opacity 0.85 drifts by a few tens) while a real mix, e.g. a 50 % blend of two named
    colours or a translucent layer over the background, lands > 48 from all of them. A
    translucent layer of alpha a over background b with colour c is caught when
    a * |c - b| > 48, i.e. an alpha below ~0.2 can slip through.

    image: uint8 [H, W, 3] (extra channels ignored). Returns a fraction in [0, 1].
    """
    from scipy.ndimage import binary_dilation

    img = np.asarray(image)[..., :3].astype(np.float32)                           # [H, W, 3]
    refs = np.asarray([background, *colours], dtype=np.float32).reshape(-1, 3)   # [K, 3]
    dist = np.linalg.norm(img[:, :, None, :] - refs[None, None], axis=-1)       # [H, W, K]
    near = dist <= tolerance                                                      # [H, W, K]
    objects = near[..., 1:].any(axis=-1)                                          # [H, W]
    if band > 0 and objects.any():
        # objects plus their rim (the rim includes the object/background boundary)
        objects = binary_dilation(objects, structure=np.ones((2 * band + 1,) * 2, bool))
    stray = ~near[..., 0] & ~objects                                              # [H, W]
    return float(stray.mean())


# ---------------------------------------------------------------- geometry via svgelements


def _strip_display(el: ET.Element) -> None:
    """Geometry is measured even for hidden elements: svgelements skips display:none."""
    el.attrib.pop("display", None)
    style = el.get("style")
    if style and "display" in style:
        el.set("style", re.sub(r"display\s*:\s*none\s*;?", "", style))


def _shapes(svg_text: str):
    """(xml elements, svgelements Shape or None) per drawable element, transforms applied.

    The whole document is parsed with svgelements so inherited fill and CSS are honoured; each
    drawable is tagged with a temporary index attribute to map svgelements' output back. An
    element svgelements does not yield (e.g. hidden by a stylesheet) is parsed on its own.
    """
    import svgelements as se

    root = _parse(svg_text)
    items = _drawables(root)
    for i, (_parent, el) in enumerate(items):
        el.set(_INDEX_ATTR, str(i))
    for el in root.iter():
        _strip_display(el)
    shapes: list = [None] * len(items)
    for e in se.SVG.parse(io.StringIO(_to_text(root))).elements():
        if isinstance(e, se.Shape):
            k = e.values.get(_INDEX_ATTR)
            if k is not None and shapes[int(k)] is None:  # a <use> clone repeats the index
                shapes[int(k)] = e
    for i, (_parent, el) in enumerate(items):
        if shapes[i] is None:
            alone = ET.Element(f"{{{SVG_NS}}}svg")
            alone.append(copy.deepcopy(el))
            found = [e for e in se.SVG.parse(io.StringIO(_to_text(alone))).elements()
                     if isinstance(e, se.Shape)]
            shapes[i] = found[0] if found else None
    return [el for _p, el in items], shapes


def _count_segments(shape) -> int:
    import svgelements as se

    if shape is None:
        return 0
    n = 0
    for seg in se.Path(shape).segments():
        if isinstance(seg, se.Move):
            continue
        if isinstance(seg, se.Close):
            if seg.start is None or seg.end is None:
                continue
            if math.hypot(seg.end.x - seg.start.x, seg.end.y - seg.start.y) <= 1e-9 * (
                    1.0 + abs(seg.start.x) + abs(seg.start.y)):
                continue  # zero-length close: just ends the subpath, draws nothing
        n += 1
    return n


def path_segments(svg_text: str) -> list[int]:
    """Segments (line, close-with-length, quadratic, cubic, arc) per drawable element.

    Path complexity a designer sees in an editor: Move and zero-length Close are not segments.
    A <rect> is 4, a <circle>/<ellipse> 4 arcs, a <polygon> of n points n, a <polyline> n-1.
    """
    _els, shapes = _shapes(svg_text)
    return [_count_segments(s) for s in shapes]


def _is_filled(shape) -> bool:
    import svgelements as se

    if shape is None or isinstance(shape, se.SimpleLine):
        return False
    fill = shape.fill
    return fill is not None and fill.value is not None


def _rings(shape, samples: int) -> list[np.ndarray]:
    """Closed polylines [n, 2] of each subpath (curves sampled ``samples`` chords each)."""
    import svgelements as se

    raw: list[list[tuple[float, float]]] = []
    cur: list[tuple[float, float]] = []
    ts = np.linspace(0.0, 1.0, samples + 1)[1:]
    for seg in se.Path(shape).segments():
        if isinstance(seg, se.Move):
            if cur:
                raw.append(cur)
            cur = [(seg.end.x, seg.end.y)]
            continue
        if not cur and seg.start is not None:
            cur = [(seg.start.x, seg.start.y)]
        if isinstance(seg, se.Linear):  # Line, Close
            if seg.end is not None:
                cur.append((seg.end.x, seg.end.y))
            if isinstance(seg, se.Close):
                raw.append(cur)
                cur = []
        else:  # QuadraticBezier, CubicBezier, Arc
            cur.extend(map(tuple, np.asarray(seg.npoint(ts), dtype=float).reshape(-1, 2)))
    if cur:
        raw.append(cur)  # a filled open subpath is implicitly closed
    if not raw:
        return []
    allpts = np.concatenate([np.asarray(r, float).reshape(-1, 2) for r in raw])
    eps = 1e-9 * max(1.0, float(np.ptp(allpts, axis=0).max()))
    rings = []
    for r in raw:
        a = np.asarray(r, float).reshape(-1, 2)                                   # [n, 2]
        keep = np.concatenate([[True], np.linalg.norm(np.diff(a, axis=0), axis=1) > eps])
        a = a[keep]
        if len(a) > 1 and np.linalg.norm(a[-1] - a[0]) <= eps:
            a = a[:-1]
        if len(a) >= 3:  # fewer distinct vertices enclose no area and draw nothing
            rings.append(a)
    return rings


def _sdist(p: np.ndarray, q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Signed distance of r from the line p->q (positive on the left). [..., 2] -> [...]"""
    d = q - p
    cross = d[..., 0] * (r[..., 1] - p[..., 1]) - d[..., 1] * (r[..., 0] - p[..., 0])
    return cross / np.maximum(np.linalg.norm(d, axis=-1), 1e-300)


def _passages_cross(p: tuple[np.ndarray, np.ndarray], q: tuple[np.ndarray, np.ndarray]) -> bool:
    """Two passes of the outline through one point, each given by its two rays (away from the
    point): they cross when q's rays lie strictly on different sides of p's local curve. A ray
    of q along a ray of p means the outline runs along itself there: reported as crossing."""
    tol = 1e-9
    two_pi = 2.0 * math.pi
    a0 = math.atan2(p[0][1], p[0][0])
    span = (math.atan2(p[1][1], p[1][0]) - a0) % two_pi

    def side(w: np.ndarray) -> bool | None:
        t = (math.atan2(w[1], w[0]) - a0) % two_pi
        if min(t, two_pi - t) < tol or abs(t - span) < tol:
            return None
        return t < span

    s0, s1 = side(q[0]), side(q[1])
    if s0 is None or s1 is None:
        return True
    return s0 != s1


def _outline_crosses(rings: list[np.ndarray]) -> bool:
    """True when the closed polylines cross themselves or each other (see self_intersecting)."""
    if not rings:
        return False
    pts = np.concatenate(rings)                                                   # [V, 2]
    scale = max(1e-12, float(np.ptp(pts, axis=0).max()))
    eps = 1e-9 * scale   # distance below which a point is "on" a line
    veps = 1e-7 * scale  # distance below which two points are the same vertex

    A = pts                                                                       # [E, 2]
    B = np.concatenate([np.roll(r, -1, axis=0) for r in rings])                   # [E, 2]
    ring_id = np.concatenate([np.full(len(r), k) for k, r in enumerate(rings)])   # [E]
    local = np.concatenate([np.arange(len(r)) for r in rings])                    # [E]
    ring_n = np.concatenate([np.full(len(r), len(r)) for r in rings])             # [E]
    E = len(A)
    lo, hi = np.minimum(A, B), np.maximum(A, B)                                   # [E, 2]

    contacts: list[np.ndarray] = []
    chunk = max(1, 2_000_000 // max(E, 1))
    J = np.arange(E)
    for i0 in range(0, E, chunk):
        I = np.arange(i0, min(E, i0 + chunk))
        ii, jj = I[:, None], J[None, :]                                           # [c, 1], [1, E]
        same = ring_id[ii] == ring_id[jj]
        adjacent = same & ((local[jj] == local[ii] + 1)
                           | ((local[ii] == 0) & (local[jj] == ring_n[ii] - 1)))
        valid = (jj > ii) & ~adjacent                                             # [c, E]
        box = ((lo[ii, 0] <= hi[jj, 0] + eps) & (lo[jj, 0] <= hi[ii, 0] + eps)
               & (lo[ii, 1] <= hi[jj, 1] + eps) & (lo[jj, 1] <= hi[ii, 1] + eps))
        valid &= box
        if not valid.any():
            continue
        ci, cj = np.nonzero(valid)
        ei, ej = I[ci], J[cj]                                                     # [P]
        a, b, c, d = A[ei], B[ei], A[ej], B[ej]                                   # [P, 2]
        s = [np.where(np.abs(x) <= eps, 0.0, np.sign(x))
             for x in (_sdist(a, b, c), _sdist(a, b, d), _sdist(c, d, a), _sdist(c, d, b))]
        if np.any((s[0] * s[1] < 0) & (s[2] * s[3] < 0)):
            return True  # proper crossing, interior to both edges
        touch = (s[0] * s[1] <= 0) & (s[2] * s[3] <= 0)
        if not touch.any():
            continue
        collinear = touch & (s[0] == 0) & (s[1] == 0) & (s[2] == 0) & (s[3] == 0)
        if collinear.any():
            k = np.nonzero(collinear)[0]
            dirn = (b[k] - a[k]) / np.linalg.norm(b[k] - a[k], axis=1, keepdims=True)
            tc = ((c[k] - a[k]) * dirn).sum(1)
            td = ((d[k] - a[k]) * dirn).sum(1)
            length = np.linalg.norm(b[k] - a[k], axis=1)
            overlap = np.minimum(length, np.maximum(tc, td)) - np.maximum(0.0, np.minimum(tc, td))
            if np.any(overlap > veps):
                return True  # two pieces of outline run along each other
            for kk in k:  # end-to-end touch of collinear edges: a contact point
                for p in (a[kk], b[kk]):
                    if min(np.linalg.norm(p - c[kk]), np.linalg.norm(p - d[kk])) <= veps:
                        contacts.append(p)
        rest = np.nonzero(touch & ~collinear)[0]
        for kk in rest:  # the contact is the endpoint lying on the other edge's line
            p = (c[kk] if s[0][kk] == 0 else d[kk] if s[1][kk] == 0
                 else a[kk] if s[2][kk] == 0 else b[kk])
            contacts.append(p)

    if not contacts:
        return False
    contacts_a = np.asarray(contacts)                                             # [C, 2]
    _keys, first = np.unique(np.round(contacts_a / veps), axis=0, return_index=True)
    for P in contacts_a[np.sort(first)]:  # one actual contact point per location
        passages: list[tuple[np.ndarray, np.ndarray]] = []
        for r in rings:  # the outline passes through P at one of its vertices
            for k in np.nonzero(np.linalg.norm(r - P, axis=1) <= veps)[0]:
                v = r[k]
                passages.append((r[k - 1] - v, r[(k + 1) % len(r)] - v))
        # ... or through the interior of an edge
        dist_line = np.abs(_sdist(A, B, np.broadcast_to(P, A.shape)))
        t = ((P - A) * (B - A)).sum(1) / np.maximum(((B - A) ** 2).sum(1), 1e-300)
        seglen = np.linalg.norm(B - A, axis=1)
        inner = ((dist_line <= veps) & (t * seglen > veps) & ((1 - t) * seglen > veps))
        for k in np.nonzero(inner)[0]:
            passages.append((A[k] - P, B[k] - P))
        for x in range(len(passages)):
            for y in range(x + 1, len(passages)):
                if _passages_cross(passages[x], passages[y]):
                    return True
    return False


def self_intersecting(svg_text: str, samples: int = 16) -> list[bool]:
    """Per drawable element: does its filled outline cross itself?

    Self-crossing outlines make the fill depend on the fill rule and look broken once edited,
    so designers treat them as defects. Each subpath is flattened (lines exact, curves into
    ``samples`` chords each via svgelements' ``npoint``, transforms applied) into a closed
    polyline (a filled open subpath is implicitly closed). Flagged when:

    * two non-adjacent edges (same subpath or different subpaths) cross at a point interior
      to both (vectorised numpy orientation test);
    * the outline passes twice through one point (a vertex on a vertex, or a vertex on an
      edge) and the passes actually cross there; passes that only touch (a pinched hourglass,
      a hole touching its outer ring at a point) are NOT flagged;
    * two pieces of outline run along each other (collinear overlap of positive length,
      including a zero-width spike A -> B -> A): the outline retraces itself, e.g. two
      squares in one path sharing a side, or a keyhole slit. A subpath of only three
      collinear points encloses nothing and is not flagged.

    Unfilled elements (fill="none", <line>) return False: a stroked crossing is artwork.
    Caveat: loops smaller than the chord spacing of the flattening can be missed.
    """
    _els, shapes = _shapes(svg_text)
    return [bool(_is_filled(s) and _outline_crosses(_rings(s, samples))) for s in shapes]


# ---------------------------------------------------------------- report


def svg_report(svg_text: str, size: int = 256,
               background: tuple[int, int, int] | None = None,
               colours: list[tuple[int, int, int]] | None = None) -> dict:
    """Designer-facing numbers for one SVG file, all measured from the file via cairosvg.

    Keys: paths (drawable elements), visible_paths, file_bytes (UTF-8 length of the text),
    segments_total, segments_per_visible_path (mean over visible elements; 0.0 when none is
    visible), self_intersecting (count), and stray_ink (on the cairosvg render at ``size``)
    when both ``background`` and ``colours`` are given.
    """
    visible, image = _visibility(svg_text, size, 0.002, 24)
    _els, shapes = _shapes(svg_text)
    segs = [_count_segments(s) for s in shapes]
    crossing = [bool(_is_filled(s) and _outline_crosses(_rings(s, 16))) for s in shapes]
    vis_segs = [n for n, v in zip(segs, visible) if v]
    report = {
        "paths": len(visible),
        "visible_paths": int(sum(visible)),
        "file_bytes": len(svg_text.encode("utf-8")),
        "segments_total": int(sum(segs)),
        "segments_per_visible_path": float(np.mean(vis_segs)) if vis_segs else 0.0,
        "self_intersecting": int(sum(crossing)),
    }
    if background is not None and colours is not None:
        report["stray_ink"] = stray_ink(image, background, colours)
    return report
