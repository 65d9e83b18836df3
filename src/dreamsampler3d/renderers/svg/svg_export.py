"""SVG export of a Scene: standard SVG 1.1 (paths, solid paints with opacity, userSpaceOnUse gradients)
that cairosvg and browsers render like our rasteriser."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path as FsPath
from typing import Callable

import torch
from torch import Tensor

from .scene import LinearGradient, Paint, Path, Scene


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def rounded(decimals: int) -> Callable[[float], str]:
    """A coordinate formatter with ``decimals`` digits after the point and no trailing zeros."""
    def fmt(x: float) -> str:
        text = f"{x:.{decimals}f}".rstrip("0").rstrip(".") if decimals > 0 else f"{x:.0f}"
        return "0" if text in ("-0", "") else text
    return fmt


def _val(x: float) -> str:
    """Non-coordinate numbers (opacities, offsets, matrices) keep their precision whatever the rounding."""
    return f"{x:.6g}"


def _hex(c: Tensor) -> tuple[str, str]:
    """#rrggbb and the alpha as text."""
    c = c.detach()
    rgb = (c[:3].clamp(0, 1) * 255).round().int().tolist()
    return "#%02x%02x%02x" % tuple(rgb), _val(float(c[3].clamp(0, 1)))


def _straight(a: list[float], b: list[float], c: list[float], d: list[float]) -> bool:
    """Are a cubic's handles b, c at the thirds of its chord a-d (how lines are raised to cubics)?"""
    tol = 1e-4 * (1.0 + abs(d[0] - a[0]) + abs(d[1] - a[1]))
    return all(abs(b[k] - (a[k] + (d[k] - a[k]) / 3)) <= tol and abs(c[k] - (a[k] + 2 * (d[k] - a[k]) / 3)) <= tol
               for k in (0, 1))


def path_data(paths: list[Path], fmt: Callable[[float], str] = _fmt) -> str:
    """SVG path data of subpaths (M, L, Q, C, Z)."""
    out = []
    for p in paths:
        pts = p.points.detach().cpu().tolist()
        if not pts:
            continue
        out.append(f"M{fmt(pts[0][0])} {fmt(pts[0][1])}")
        i = 0
        for d in p.degrees:
            ctrl = [pts[(i + j) % len(pts)] if p.closed else pts[i + j] for j in range(1, d + 1)]
            i += d
            if d == 3 and _straight(pts[(i - 3) % len(pts)], *ctrl):
                ctrl = ctrl[-1:]  # a straight cubic is written as the line it draws
            out.append("LQC"[len(ctrl) - 1] + " ".join(f"{fmt(x)} {fmt(y)}" for x, y in ctrl))
        if p.closed:
            out.append("Z")
    return " ".join(out)


def _paint_attr(paint: Paint | None, key: str, defs: list[str]) -> str:
    if paint is None:
        return "" if key == "stroke" else f' {key}="none"'  # no stroke is SVG's default
    if isinstance(paint, Tensor):
        col, a = _hex(paint)
        return f' {key}="{col}"' + ("" if a == "1" else f' {key}-opacity="{a}"')
    gid = f"g{len(defs)}"
    stops = "".join(f'<stop offset="{_val(float(o))}" stop-color="{_hex(c)[0]}" stop-opacity="{_hex(c)[1]}"/>'
                    for o, c in zip(paint.offsets.detach(), paint.colors.detach()))
    tr = ""
    if paint.transform is not None:
        t = paint.transform.detach().tolist()
        tr = f' gradientTransform="matrix({" ".join(_val(v) for v in (t[0][0], t[1][0], t[0][1], t[1][1], t[0][2], t[1][2]))})"'
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


def scaled(scene: Scene, width: float) -> Scene:
    """The scene in user units of a canvas ``width`` wide (same aspect): what an export at that size holds."""
    k = float(width) / float(scene.width)
    m = torch.diag(torch.tensor([k, k, 1.0]))

    def paint(p: Paint | None) -> Paint | None:
        if p is None or isinstance(p, Tensor):
            return p
        t = p.transform if p.transform is not None else torch.eye(3)
        common = {"transform": (m @ t.detach().float() @ torch.linalg.inv(m)) if p.transform is not None else None}
        if isinstance(p, LinearGradient):
            return dataclasses.replace(p, start=p.start * k, end=p.end * k, **common)
        return dataclasses.replace(p, center=p.center * k, radius=p.radius * k, **common)

    shapes = []
    for sh in scene.shapes:
        paths = [Path(p.points.detach() * k, p.degrees, p.closed) for p in sh.paths]
        width_ = sh.stroke_width * k if isinstance(sh.stroke_width, (int, float)) else sh.stroke_width.detach() * k
        shapes.append(dataclasses.replace(sh, paths=paths, fill=paint(sh.fill), stroke=paint(sh.stroke),
                                          stroke_width=width_))
    return Scene(scene.width * k, scene.height * k, shapes)


def save_svg(scene: Scene, path: str | os.PathLike | None = None, size: int | None = None,
             decimals: int | None = None) -> str:
    """Standard SVG 1.1 text of the scene (written to ``path`` when given). ``size``: write it at that width,
    viewBox included, so coordinates are output pixels; ``decimals``: round coordinates to that many digits."""
    if size is not None:
        scene = scaled(scene, size)
    fmt = _fmt if decimals is None else rounded(decimals)
    defs: list[str] = []
    body = []
    for sh in scene.shapes:
        paths, fill, stroke, tr = sh.paths, sh.fill, sh.stroke, ""
        if sh.stroke_transform is not None:  # write the element in its pen space under a transform
            a = sh.stroke_transform.detach().double()
            inv = torch.linalg.inv(a)
            paths = [Path((p.points.detach().double() @ inv.T).float(), p.degrees, p.closed) for p in paths]
            fill, stroke = _pull_back(fill, inv), _pull_back(stroke, inv)
            tr = f' transform="matrix({_val(a[0, 0])} {_val(a[1, 0])} {_val(a[0, 1])} {_val(a[1, 1])} 0 0)"'
        attrs = tr + _paint_attr(fill, "fill", defs) + _paint_attr(stroke, "stroke", defs)
        if sh.fill is not None and sh.fill_rule == "evenodd":
            attrs += ' fill-rule="evenodd"'
        if sh.stroke is not None:
            sw = float(sh.stroke_width) if not isinstance(sh.stroke_width, Tensor) else float(sh.stroke_width.detach())
            attrs += f' stroke-width="{fmt(sw)}" stroke-linecap="{sh.linecap}" stroke-linejoin="{sh.linejoin}"'
            attrs += f' stroke-miterlimit="{_val(sh.miterlimit)}"'
        op = float(sh.opacity) if not isinstance(sh.opacity, Tensor) else float(sh.opacity.detach())
        if op != 1.0:
            attrs += f' opacity="{_val(op)}"'
        body.append(f'<path d="{path_data(paths, fmt)}"{attrs}/>')
    w, h = fmt(scene.width), fmt(scene.height)
    text = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">\n'
            + (f"<defs>{''.join(defs)}</defs>\n" if defs else "") + "\n".join(body) + "\n</svg>\n")
    if path is not None:
        FsPath(path).write_text(text)
    return text
