"""SVG import (svgelements parses path data, transforms, styles, <use>) and export of a Scene.

Import keeps what the rasteriser draws: shapes converted to paths (arcs become cubics), fill and stroke
paints with opacity folded in, gradients from <defs>. Content we do not draw (text, images, filters,
masks, clip paths, patterns, markers, dashes) is skipped with one warning that names it.
"""

from __future__ import annotations

import io
import math
import os
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path as FsPath

import numpy as np
import svgelements as se
import torch
from torch import Tensor

from ...errors import UserError
from .gradients import GradientDef, _local, read_gradients
from .scene import LinearGradient, Paint, Path, RadialGradient, Scene, Shape

UNSUPPORTED_TAGS = {"text": "text", "image": "image", "foreignObject": "foreignObject", "mask": "mask",
                    "clipPath": "clip paths", "filter": "filters", "pattern": "pattern", "marker": "markers"}
UNSUPPORTED_ATTRS = {"filter": "filters", "mask": "mask", "clip-path": "clip paths",
                     "stroke-dasharray": "stroke-dasharray", "marker-start": "markers", "marker-mid": "markers",
                     "marker-end": "markers"}


def _unsupported(root: ET.Element) -> set[str]:
    found: set[str] = set()
    for el in root.iter():
        tag = _local(el.tag) if isinstance(el.tag, str) else ""
        if tag in UNSUPPORTED_TAGS:
            found.add(UNSUPPORTED_TAGS[tag])
        style = {k.strip(): v.strip() for k, v in (p.split(":", 1) for p in el.attrib.get("style", "").split(";") if ":" in p)}
        for attrs in (el.attrib, style):
            for k, name in UNSUPPORTED_ATTRS.items():
                v = attrs.get(k)
                if v is not None and v.strip() not in ("none", ""):
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
            for c in s.as_cubic_curves():
                pts += [_pt(c.control1), _pt(c.control2), _pt(c.end)]; degs.append(3)
    flush(False)
    return out


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
    offsets = torch.tensor([o for o, _ in g.stops], dtype=torch.float32)
    colors = torch.tensor([c for _, c in g.stops], dtype=torch.float32)
    colors[:, 3] *= opacity
    tt = torch.tensor(T, dtype=torch.float32)
    if g.kind == "linear":
        return LinearGradient(torch.tensor([g.get("x1", 0.0), g.get("y1", 0.0)]),
                              torch.tensor([g.get("x2", 1.0), g.get("y2", 0.0)]), offsets, colors, tt)
    return RadialGradient(torch.tensor([g.get("cx", 0.5), g.get("cy", 0.5)]), torch.tensor(g.get("r", 0.5)),
                          offsets, colors, tt)


def _paint(e: se.Shape, key: str, grads: dict[str, GradientDef], m: np.ndarray) -> Paint | None:
    raw = str(e.values.get(key, "")).strip()
    op = float(e.values.get(f"{key}-opacity", 1.0) or 1.0)
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


def load_svg(source: str | os.PathLike | bytes, current_color: str = "black") -> Scene:
    """Parse an SVG file (path, bytes or text) into a Scene in its viewBox units."""
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (os.PathLike,)) or (isinstance(source, str) and not source.lstrip().startswith("<")):
        try:
            data = FsPath(source).read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read SVG file {source}: {exc.strerror or exc}") from exc
    else:
        data = source.encode("utf-8")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise UserError(f"malformed SVG (XML error: {exc})") from exc
    if _local(root.tag) != "svg":
        raise UserError(f"not an SVG document (root element is <{_local(root.tag)}>)")
    skipped = _unsupported(root)
    if skipped:
        warnings.warn(f"SVG content not supported, skipped: {', '.join(sorted(skipped))}", stacklevel=2)
    grads = read_gradients(root, current_color)
    try:
        svg = se.SVG.parse(io.BytesIO(data), reify=False, color=current_color)
    except Exception as exc:  # noqa: BLE001 - svgelements has no single error type
        raise UserError(f"cannot parse SVG: {exc}") from exc
    w, h = float(svg.width or 0), float(svg.height or 0)
    if svg.viewbox is not None:
        w, h = float(svg.viewbox.width), float(svg.viewbox.height)
        vb = svg.viewbox
    if not (w > 0 and h > 0) or not (math.isfinite(w) and math.isfinite(h)):
        raise UserError("SVG has no usable size (missing or zero width/height/viewBox)")
    # svgelements maps the viewBox onto width x height; we keep viewBox units, so undo that scale.
    to_vb = np.eye(3)
    if svg.viewbox is not None:
        pw, ph = float(svg.width or w), float(svg.height or h)
        if pw > 0 and ph > 0:
            to_vb = np.array([[w / pw, 0, 0], [0, h / ph, 0], [0, 0, 1.0]])
    shapes: list[Shape] = []
    for e in svg.elements():
        if not isinstance(e, se.Shape):
            continue
        if str(e.values.get("visibility", "visible")) in ("hidden", "collapse"):
            continue
        m = to_vb @ _mat3(e.transform)
        try:
            segs = list(e.segments(transformed=False))
        except Exception:  # noqa: BLE001
            continue
        paths = _subpaths(segs)
        if not paths:
            continue
        mt = torch.tensor(m, dtype=torch.float32)
        for p in paths:
            p.points = p.points @ mt[:2, :2].T + mt[:2, 2]
        fill = _paint(e, "fill", grads, m)
        stroke = _paint(e, "stroke", grads, m)
        sw = float(e.stroke_width or 0.0) * math.sqrt(abs(np.linalg.det(m[:2, :2])))
        if stroke is not None and sw <= 0:
            stroke = None
        if fill is None and stroke is None:
            continue
        opacity = float(e.values.get("opacity", 1.0) or 1.0)
        shapes.append(Shape(paths, fill, stroke, torch.tensor(sw), str(e.values.get("fill-rule", "nonzero")),
                            torch.tensor(min(max(opacity, 0.0), 1.0)),
                            str(e.values.get("stroke-linecap", "butt")), str(e.values.get("stroke-linejoin", "miter")),
                            float(e.values.get("stroke-miterlimit", 4.0) or 4.0)))
    return Scene(w, h, shapes)


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _hex(c: Tensor) -> tuple[str, str]:
    rgb = (c[:3].detach().clamp(0, 1) * 255).round().int().tolist()
    return "#%02x%02x%02x" % tuple(rgb), _fmt(float(c[3].clamp(0, 1)))


def path_data(paths: list[Path]) -> str:
    """SVG path data of subpaths (M, L, Q, C, Z)."""
    out = []
    for p in paths:
        pts = p.points.detach().cpu().tolist()
        if not pts:
            continue
        out.append(f"M{_fmt(pts[0][0])} {_fmt(pts[0][1])}")
        i = 0
        for d in p.degrees:
            ctrl = [pts[(i + j) % len(pts)] if p.closed else pts[i + j] for j in range(1, d + 1)]
            out.append("LQC"[d - 1] + " ".join(f"{_fmt(x)} {_fmt(y)}" for x, y in ctrl))
            i += d
        if p.closed:
            out.append("Z")
    return " ".join(out)


def _paint_attr(paint: Paint | None, key: str, defs: list[str]) -> str:
    if paint is None:
        return f' {key}="none"'
    if isinstance(paint, Tensor):
        col, a = _hex(paint)
        return f' {key}="{col}"' + ("" if a == "1" else f' {key}-opacity="{a}"')
    gid = f"g{len(defs)}"
    stops = "".join(f'<stop offset="{_fmt(float(o))}" stop-color="{_hex(c)[0]}" stop-opacity="{_hex(c)[1]}"/>'
                    for o, c in zip(paint.offsets.detach(), paint.colors.detach()))
    tr = ""
    if paint.transform is not None:
        t = paint.transform.detach().tolist()
        tr = f' gradientTransform="matrix({" ".join(_fmt(v) for v in (t[0][0], t[1][0], t[0][1], t[1][1], t[0][2], t[1][2]))})"'
    if isinstance(paint, LinearGradient):
        s, e = paint.start.detach().tolist(), paint.end.detach().tolist()
        defs.append(f'<linearGradient id="{gid}" gradientUnits="userSpaceOnUse" x1="{_fmt(s[0])}" y1="{_fmt(s[1])}" '
                    f'x2="{_fmt(e[0])}" y2="{_fmt(e[1])}"{tr}>{stops}</linearGradient>')
    else:
        c = paint.center.detach().tolist()
        r = float(paint.radius.detach().reshape(-1)[0])
        defs.append(f'<radialGradient id="{gid}" gradientUnits="userSpaceOnUse" cx="{_fmt(c[0])}" cy="{_fmt(c[1])}" '
                    f'r="{_fmt(r)}"{tr}>{stops}</radialGradient>')
    return f' {key}="url(#{gid})"'


def save_svg(scene: Scene, path: str | os.PathLike | None = None) -> str:
    """Standard SVG 1.1 text of the scene (written to ``path`` when given)."""
    defs: list[str] = []
    body = []
    for sh in scene.shapes:
        attrs = _paint_attr(sh.fill, "fill", defs) + _paint_attr(sh.stroke, "stroke", defs)
        if sh.fill is not None and sh.fill_rule == "evenodd":
            attrs += ' fill-rule="evenodd"'
        if sh.stroke is not None:
            sw = float(sh.stroke_width) if not isinstance(sh.stroke_width, Tensor) else float(sh.stroke_width.detach())
            attrs += f' stroke-width="{_fmt(sw)}" stroke-linecap="{sh.linecap}" stroke-linejoin="{sh.linejoin}"'
            attrs += f' stroke-miterlimit="{_fmt(sh.miterlimit)}"'
        op = float(sh.opacity) if not isinstance(sh.opacity, Tensor) else float(sh.opacity.detach())
        if op != 1.0:
            attrs += f' opacity="{_fmt(op)}"'
        body.append(f'<path d="{path_data(sh.paths)}"{attrs}/>')
    w, h = _fmt(scene.width), _fmt(scene.height)
    text = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n'
            + (f"<defs>{''.join(defs)}</defs>\n" if defs else "") + "\n".join(body) + "\n</svg>\n")
    if path is not None:
        FsPath(path).write_text(text)
    return text
