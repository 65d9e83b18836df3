"""SVG import (svgelements parses path data, transforms, styles, <use>); ``save_svg`` (svg_export) writes.

Import keeps what the rasteriser draws: shapes converted to paths (arcs become cubics), fill and stroke
paints with opacity folded in, gradients from <defs>. Content we do not draw (text, images, filters,
masks, clip paths, patterns, markers, dashes) is skipped with one warning that names it.
"""

from __future__ import annotations

import io
import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path as FsPath

import numpy as np
import svgelements as se
import torch
from torch import Tensor

from ...errors import UserError
from .gradients import GradientDef, read_gradients
from .limits import LIMITS, check_tree, exceeded
from .values import declarations, local, number
from .scene import LinearGradient, Paint, Path, RadialGradient, Scene, Shape
from .svg_export import save_svg  # noqa: F401 - import and export live side by side for callers
from .viewports import multiply_opacity, rewrite_viewports, serialise

UNSUPPORTED_TAGS = {"text": "text", "image": "image", "foreignObject": "foreignObject", "mask": "mask",
                    "clipPath": "clip paths", "filter": "filters", "pattern": "pattern", "marker": "markers"}
UNSUPPORTED_ATTRS = {"filter": "filters", "mask": "mask", "clip-path": "clip paths",
                     "stroke-dasharray": "stroke-dasharray", "marker-start": "markers", "marker-mid": "markers",
                     "marker-end": "markers"}


def _unsupported(root: ET.Element) -> set[str]:
    found: set[str] = set()
    for el in root.iter():
        tag = local(el.tag)
        if tag in UNSUPPORTED_TAGS:
            found.add(UNSUPPORTED_TAGS[tag])
        attrs = declarations(el)
        for k, name in UNSUPPORTED_ATTRS.items():
            v = attrs.get(k)
            if v is not None and v not in ("none", ""):
                found.add(name)
    return found


def _mat3(m: se.Matrix) -> np.ndarray:
    return np.array([[m.a, m.c, m.e], [m.b, m.d, m.f], [0.0, 0.0, 1.0]])


def _pt(p: se.Point) -> tuple[float, float]:
    return (float(p.x), float(p.y))


def _subpaths(segments) -> list[Path]:
    """svgelements segments (already transformed) -> our subpaths; arcs become cubics."""
    out: list[Path] = []
    pts: list[tuple[float, float]] = []
    degs: list[int] = []

    def flush(closed: bool) -> None:
        nonlocal pts, degs
        if pts:
            if closed and degs and len(pts) > 1 and math.dist(pts[-1], pts[0]) < 1e-9:
                pts = pts[:-1]  # the last segment already returns to the start: wrap instead
            elif closed and degs:
                degs = degs + [1]  # implicit closing line
            out.append(Path(torch.tensor(pts, dtype=torch.float32).view(-1, 2), degs, closed and bool(degs)))
        pts, degs = [], []

    for s in segments:
        if isinstance(s, se.Move):
            flush(False)
            pts = [_pt(s.end)]
            continue
        if isinstance(s, se.Close):
            flush(True)
            continue
        if not pts:
            pts = [_pt(s.start)] if s.start is not None else [(0.0, 0.0)]
        if isinstance(s, se.Line):
            pts.append(_pt(s.end)); degs.append(1)
        elif isinstance(s, se.QuadraticBezier):
            pts += [_pt(s.control), _pt(s.end)]; degs.append(2)
        elif isinstance(s, se.CubicBezier):
            pts += [_pt(s.control1), _pt(s.control2), _pt(s.end)]; degs.append(3)
        elif isinstance(s, se.Arc):
            if _degenerate_arc(s):  # SVG: an arc with a zero radius is a straight line to its end
                pts.append(_pt(s.end)); degs.append(1)
                continue
            for c in s.as_cubic_curves():
                pts += [_pt(c.control1), _pt(c.control2), _pt(c.end)]; degs.append(3)
    flush(False)
    return out


def _degenerate_arc(a: se.Arc) -> bool:
    try:
        rx, ry = abs(float(a.rx)), abs(float(a.ry))
    except (TypeError, ValueError):
        return True
    return not (rx > 0 and ry > 0 and math.isfinite(rx) and math.isfinite(ry))


def _is_similarity(a: np.ndarray) -> bool:
    """Rotation and uniform scale only (A^T A = c I): a round pen stays round."""
    n1, n2, dot = a[0, 0] ** 2 + a[1, 0] ** 2, a[0, 1] ** 2 + a[1, 1] ** 2, a[0, 0] * a[0, 1] + a[1, 0] * a[1, 1]
    tol = 1e-6 * max(n1 + n2, 1e-30)
    return abs(n1 - n2) <= tol and abs(dot) <= tol


def _color(c: se.Color, opacity: float = 1.0) -> Tensor:
    return torch.tensor([c.red / 255.0, c.green / 255.0, c.blue / 255.0, c.alpha / 255.0 * opacity])


def _gradient(g: GradientDef, shape_m: np.ndarray, bbox, opacity: float) -> Paint | None:
    if not g.stops:
        return None
    T = shape_m
    if g.units == "objectBoundingBox":
        if bbox is None:
            return None
        x0, y0, x1, y1 = bbox
        T = T @ np.array([[x1 - x0, 0, x0], [0, y1 - y0, y0], [0, 0, 1.0]])
    T = T @ _mat3(g.transform)
    if not np.isfinite(T).all() or abs(np.linalg.det(T[:2, :2])) < 1e-12:
        return None  # SVG: a gradient on an empty box or under a singular transform paints nothing
    offsets = torch.tensor([o for o, _ in g.stops], dtype=torch.float32)
    colors = torch.tensor([c for _, c in g.stops], dtype=torch.float32)
    colors[:, 3] *= opacity
    tt = torch.tensor(T, dtype=torch.float32)
    spread = g.attrs.get("spreadMethod", "pad")
    spread = spread if spread in ("pad", "reflect", "repeat") else "pad"
    if g.kind == "linear":
        return LinearGradient(torch.tensor([g.get("x1", 0.0), g.get("y1", 0.0)]),
                              torch.tensor([g.get("x2", 1.0), g.get("y2", 0.0)]), offsets, colors, tt, spread)
    return RadialGradient(torch.tensor([g.get("cx", 0.5), g.get("cy", 0.5)]), torch.tensor(g.get("r", 0.5)),
                          offsets, colors, tt, spread)


def _paint(e: se.Shape, key: str, grads: dict[str, GradientDef], m: np.ndarray) -> Paint | None:
    raw = str(e.values.get(key, "")).strip()
    op = number(e.values.get(f"{key}-opacity"), 1.0)
    if raw.startswith("url("):
        gid = raw[4:raw.index(")")].strip().strip("'\"").lstrip("#")
        g = grads.get(gid)
        if g is None:  # pattern or missing reference: SVG falls back to the paint after the url, or none
            rest = raw[raw.index(")") + 1:].strip()
            c = se.Color(rest) if rest and rest != "none" else None
            return None if c is None or c.value is None else _color(c, op)
        try:
            bb = e.bbox(transformed=False)
        except Exception:  # noqa: BLE001 - svgelements raises assorted errors on empty geometry
            bb = None
        return _gradient(g, m, bb, min(max(op, 0.0), 1.0))
    c = e.fill if key == "fill" else e.stroke
    if c is None or c.value is None:
        return None
    return _color(c)  # svgelements already folded fill-/stroke-opacity into the alpha


_UNITS = {"": 1.0, "px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4,
          "em": 16.0, "ex": 8.0, "rem": 16.0}


def _plain_size(data: bytes, root: ET.Element) -> bytes:
    """Rewrite the root's width/height in px (svgelements rejects em and some other units); a
    percentage is dropped, so the viewBox gives the size."""
    head = re.search(rb"<svg\b[^>]*>", data)
    if head is None:
        return data
    tag = head.group(0)
    for key in ("width", "height"):
        v = root.attrib.get(key)
        if v is None:
            continue
        mt = re.fullmatch(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([a-z%]*)\s*", v)
        pat = re.compile(rb"(\s" + key.encode() + rb"\s*=\s*)([\"'])[^\"']*\2")
        if mt and mt.group(2) in _UNITS:
            try:
                px = float(mt.group(1)) * _UNITS[mt.group(2)]
            except ValueError:
                px = 0.0
            tag = pat.sub(lambda m: m.group(1) + b'"' + repr(px).encode() + b'"', tag, count=1) if px > 0 else pat.sub(b"", tag, count=1)
        elif "viewBox" in root.attrib:
            tag = pat.sub(b"", tag, count=1)
    return data[: head.start()] + tag + data[head.end():]


def load_svg(source: str | os.PathLike | bytes, current_color: str = "black") -> Scene:
    """Parse an SVG file (path, bytes or text) into a Scene in its viewport units (width x height; the
    viewBox, with preserveAspectRatio, maps into it)."""
    name = "SVG"
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (os.PathLike,)) or (isinstance(source, str) and not source.lstrip("\ufeff \t\r\n").startswith("<")):
        name = f"SVG {source}"
        data = _read_bounded(FsPath(source), name)
    else:
        data = source.encode("utf-8")
    data = _gunzip(data, name)
    if len(data) > LIMITS.max_bytes:
        raise exceeded(f"{name}: size in bytes", len(data), "max_bytes")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UserError(f"{name}: malformed XML ({exc})") from None
    if local(root.tag) != "svg":
        raise UserError(f"{name}: not an SVG document (root element is <{local(root.tag)}>)")
    notes = check_tree(root)
    try:
        return _scene(root, data, current_color, notes)
    except UserError as exc:
        raise UserError(f"{name}: {exc}") from None
    except RecursionError:
        raise UserError(f"{name}: nested too deeply to read") from None
    except (ArithmeticError, ValueError, TypeError, AttributeError, IndexError, KeyError, np.linalg.LinAlgError) as exc:
        raise UserError(f"{name}: cannot be read ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    """A parser's failure in words a user can act on (not 'list index out of range')."""
    if isinstance(exc, (ZeroDivisionError, OverflowError, np.linalg.LinAlgError, ArithmeticError)):
        return "a number in it is degenerate: zero or infinite sizes, radii or transforms"
    return "a value in it is malformed"


def _read_bounded(path: FsPath, name: str) -> bytes:
    try:
        if path.is_dir():
            raise UserError(f"{name}: is a folder, not a file")
        with open(path, "rb") as f:
            data = f.read(LIMITS.max_bytes + 1)
            size = os.fstat(f.fileno()).st_size  # the file's own size (0 for a pipe: then what was read)
    except OSError as exc:
        raise UserError(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > LIMITS.max_bytes:
        raise exceeded(f"{name}: size in bytes", max(size, len(data)), "max_bytes", at_least=size < len(data))
    return data


def _gunzip(data: bytes, name: str) -> bytes:
    """An .svgz is gzip-compressed SVG: read it, bounded, so that a small bomb cannot fill memory."""
    if data[:2] != b"\x1f\x8b":
        return data
    import zlib

    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, LIMITS.max_bytes + 1)
    except zlib.error as exc:
        raise UserError(f"{name}: damaged gzip data ({exc})") from None
    if len(out) > LIMITS.max_bytes or d.unconsumed_tail:
        raise exceeded(f"{name}: size in bytes once decompressed", len(out), "max_bytes", at_least=True)
    return out


def _scene(root: ET.Element, data: bytes, current_color: str, notes: list[str]) -> Scene:
    skipped = _unsupported(root)
    for note in notes:
        warnings.warn(note, stacklevel=3)
    if skipped:
        warnings.warn(f"SVG content not supported, skipped: {', '.join(sorted(skipped))}", stacklevel=3)
    grads = read_gradients(root, current_color)
    if rewrite_viewports(root) | multiply_opacity(root):  # what svgelements mishandles
        data = serialise(root)
    data = _plain_size(data, root)
    try:
        svg = se.SVG.parse(io.BytesIO(data), reify=False, color=current_color)
    except RecursionError:
        raise
    except Exception as exc:  # noqa: BLE001 - svgelements has no single error type
        raise UserError(f"cannot be parsed ({_reason(exc)})") from None
    w, h = float(svg.width or 0), float(svg.height or 0)  # the viewport; element transforms map into it
    if not (w > 0 and h > 0) or not (math.isfinite(w) and math.isfinite(h)):
        raise UserError("no usable size (missing, zero or infinite width/height/viewBox)")
    shapes: list[Shape] = []
    broken = 0
    for e in svg.elements():
        if not isinstance(e, se.Shape):
            continue
        try:
            shape = _shape(e, grads)
        except (ArithmeticError, ValueError, TypeError, AttributeError, IndexError, KeyError,
                np.linalg.LinAlgError):
            broken += 1
            continue
        if shape is not None:
            shapes.append(shape)
    if broken:
        warnings.warn(f"{broken} SVG element(s) with degenerate or malformed values skipped", stacklevel=3)
    return Scene(w, h, shapes)


def _shape(e: se.Shape, grads: dict[str, GradientDef]) -> Shape | None:
    """One svgelements shape -> our Shape (None when it draws nothing)."""
    if str(e.values.get("visibility", "visible")) in ("hidden", "collapse"):
        return None
    m = _mat3(e.transform)
    try:
        segs = list(e.segments(transformed=False))
    except Exception:  # noqa: BLE001
        return None
    paths = _subpaths(segs)
    if not paths:
        return None
    if not all(torch.isfinite(p.points).all() for p in paths) or not np.isfinite(m).all():
        raise ValueError("non-finite geometry")
    mt = torch.tensor(m, dtype=torch.float32)
    for p in paths:
        p.points = p.points @ mt[:2, :2].T + mt[:2, 2]
    fill = _paint(e, "fill", grads, m)
    stroke = _paint(e, "stroke", grads, m)
    A = m[:2, :2]
    if abs(np.linalg.det(A)) < 1e-12:  # scaled to nothing: invisible
        return None
    pen = None
    if _is_similarity(A):
        sw = float(e.stroke_width or 0.0) * math.sqrt(abs(np.linalg.det(A)))
    else:  # non-uniform or skewed: the pen is an ellipse, stroke in the element's own space
        sw = float(e.stroke_width or 0.0)
        pen = torch.tensor(A, dtype=torch.float32) if stroke is not None else None
    if stroke is not None and sw <= 0:
        stroke = None
    if fill is None and stroke is None:
        return None
    opacity = number(e.values.get("opacity"), 1.0)
    return Shape(paths, fill, stroke, torch.tensor(sw), str(e.values.get("fill-rule", "nonzero")),
                 torch.tensor(min(max(opacity, 0.0), 1.0)),
                 str(e.values.get("stroke-linecap", "butt")), str(e.values.get("stroke-linejoin", "miter")),
                 max(number(e.values.get("stroke-miterlimit"), 4.0), 1.0), pen)


__all__ = ["load_svg", "save_svg"]
