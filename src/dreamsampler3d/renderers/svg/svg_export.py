"""SVG export of a Scene: standard SVG 1.1 (paths, solid paints with opacity, userSpaceOnUse gradients)
that cairosvg and browsers render like our rasteriser."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path as FsPath

import torch
from torch import Tensor

from .scene import LinearGradient, Paint, Path, Scene


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _hex(c: Tensor) -> tuple[str, str]:
    """#rrggbb and the alpha as text."""
    c = c.detach()
    rgb = (c[:3].clamp(0, 1) * 255).round().int().tolist()
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
    if paint.spread != "pad":
        tr += f' spreadMethod="{paint.spread}"'
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


def _pull_back(paint: Paint | None, inv: Tensor) -> Paint | None:
    """A user-space gradient seen from inside an element transformed by inv^-1."""
    if paint is None or isinstance(paint, Tensor):
        return paint
    m = torch.eye(3, dtype=torch.float64)
    m[:2, :2] = inv
    t = paint.transform.detach().double() if paint.transform is not None else torch.eye(3, dtype=torch.float64)
    return dataclasses.replace(paint, transform=(m @ t).float())


def save_svg(scene: Scene, path: str | os.PathLike | None = None) -> str:
    """Standard SVG 1.1 text of the scene (written to ``path`` when given)."""
    defs: list[str] = []
    body = []
    for sh in scene.shapes:
        paths, fill, stroke, tr = sh.paths, sh.fill, sh.stroke, ""
        if sh.stroke_transform is not None:  # write the element in its pen space under a transform
            a = sh.stroke_transform.detach().double()
            inv = torch.linalg.inv(a)
            paths = [Path((p.points.detach().double() @ inv.T).float(), p.degrees, p.closed) for p in paths]
            fill, stroke = _pull_back(fill, inv), _pull_back(stroke, inv)
            tr = f' transform="matrix({_fmt(a[0, 0])} {_fmt(a[1, 0])} {_fmt(a[0, 1])} {_fmt(a[1, 1])} 0 0)"'
        attrs = tr + _paint_attr(fill, "fill", defs) + _paint_attr(stroke, "stroke", defs)
        if sh.fill is not None and sh.fill_rule == "evenodd":
            attrs += ' fill-rule="evenodd"'
        if sh.stroke is not None:
            sw = float(sh.stroke_width) if not isinstance(sh.stroke_width, Tensor) else float(sh.stroke_width.detach())
            attrs += f' stroke-width="{_fmt(sw)}" stroke-linecap="{sh.linecap}" stroke-linejoin="{sh.linejoin}"'
            attrs += f' stroke-miterlimit="{_fmt(sh.miterlimit)}"'
        op = float(sh.opacity) if not isinstance(sh.opacity, Tensor) else float(sh.opacity.detach())
        if op != 1.0:
            attrs += f' opacity="{_fmt(op)}"'
        body.append(f'<path d="{path_data(paths)}"{attrs}/>')
    w, h = _fmt(scene.width), _fmt(scene.height)
    text = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n'
            + (f"<defs>{''.join(defs)}</defs>\n" if defs else "") + "\n".join(body) + "\n</svg>\n")
    if path is not None:
        FsPath(path).write_text(text)
    return text
