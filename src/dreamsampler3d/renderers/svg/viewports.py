"""Rewrites svgelements gets wrong, done on the XML tree before it parses: ``<use>`` of a ``<symbol>``
(its viewBox scaling) and nested ``<svg>`` viewports both become ``<g transform=...>`` groups,
``<symbol>`` definitions are removed (they never render by themselves), and nested ``opacity`` values
are multiplied down the tree (svgelements lets the innermost one win)."""

from __future__ import annotations

import copy
import math
import re
import xml.etree.ElementTree as ET

from .values import declarations, local, number

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_GEOM = {"x", "y", "width", "height", "href", f"{{{XLINK_NS}}}href", "viewBox", "preserveAspectRatio", "id"}


def viewbox_transform(x: float, y: float, w: float, h: float, viewbox: str | None, par: str | None) -> str:
    """SVG transform string mapping a viewBox into the viewport (x, y, w, h) per preserveAspectRatio."""
    if not viewbox:
        return f"translate({x} {y})"
    try:
        vx, vy, vw, vh = (float(v) for v in re.split(r"[\s,]+", viewbox.strip()))
    except ValueError:
        return f"translate({x} {y})"
    if vw <= 0 or vh <= 0:
        return f"translate({x} {y})"
    parts = (par or "xMidYMid meet").split()
    align = parts[0] if parts else "xMidYMid"
    sx, sy = w / vw, h / vh
    if align != "none":
        s = max(sx, sy) if (len(parts) > 1 and parts[1] == "slice") else min(sx, sy)
        sx = sy = s
        fx = {"xMin": 0.0, "xMid": 0.5, "xMax": 1.0}.get(align[:4], 0.5)
        fy = {"YMin": 0.0, "YMid": 0.5, "YMax": 1.0}.get(align[4:], 0.5)
        x += (w - vw * s) * fx
        y += (h - vh * s) * fy
    return f"translate({x} {y}) scale({sx} {sy}) translate({-vx} {-vy})"


def rewrite_viewports(root: ET.Element) -> bool:
    """Expand <use> of <symbol> and nested <svg> in place; True when the tree changed."""
    parent = {c: p for p in root.iter() for c in p}
    ids = {el.attrib["id"]: el for el in root.iter() if "id" in el.attrib}
    vb = root.attrib.get("viewBox")
    try:
        _, _, rw, rh = (float(v) for v in re.split(r"[\s,]+", vb.strip())) if vb else (0, 0, 0, 0)
    except ValueError:
        rw = rh = 0.0
    rw = rw or number(root.attrib.get("width"), 100.0)
    rh = rh or number(root.attrib.get("height"), 100.0)
    changed = False
    for el in list(root.iter()):
        tag = local(el.tag)
        if tag == "use":
            href = el.attrib.get(f"{{{XLINK_NS}}}href") or el.attrib.get("href") or ""
            sym = ids.get(href.lstrip("#"))
            if sym is None or local(sym.tag) != "symbol":
                continue
            w = number(el.attrib.get("width"), number(sym.attrib.get("width"), rw))
            h = number(el.attrib.get("height"), number(sym.attrib.get("height"), rh))
            tr = viewbox_transform(number(el.attrib.get("x"), 0.0), number(el.attrib.get("y"), 0.0), w, h,
                                   sym.attrib.get("viewBox"), sym.attrib.get("preserveAspectRatio"))
            g = ET.Element(f"{{{SVG_NS}}}g", {k: v for k, v in el.attrib.items() if k not in _GEOM})
            g.set("transform", (el.attrib.get("transform", "") + " " + tr).strip())
            inner = ET.SubElement(g, f"{{{SVG_NS}}}g", {k: v for k, v in sym.attrib.items() if k not in _GEOM})
            inner.extend(copy.deepcopy(list(sym)))
            p = parent[el]
            p[list(p).index(el)] = g
            changed = True
        elif tag == "svg" and el is not root:
            tr = viewbox_transform(number(el.attrib.get("x"), 0.0), number(el.attrib.get("y"), 0.0),
                                   number(el.attrib.get("width"), rw), number(el.attrib.get("height"), rh),
                                   el.attrib.get("viewBox"), el.attrib.get("preserveAspectRatio"))
            for k in list(el.attrib):
                if k in _GEOM:
                    del el.attrib[k]
            el.tag = f"{{{SVG_NS}}}g"
            el.set("transform", tr)
            changed = True
    for el in list(root.iter()):
        if local(el.tag) == "symbol" and el in parent:
            parent[el].remove(el)
            changed = True
    return changed


def _own_opacity(el: ET.Element) -> float | None:
    v = declarations(el).get("opacity")
    if v is None:
        return None
    x = number(v, float("nan"))
    return None if math.isnan(x) else min(max(x, 0.0), 1.0)


def multiply_opacity(root: ET.Element) -> bool:
    """Set every element's opacity to the product along its ancestor chain; True when that changed
    anything (only nested opacities need it). An approximation of group opacity for overlapping children."""
    changed = False

    def walk(el: ET.Element, acc: float, depth: int) -> None:
        nonlocal changed
        own = _own_opacity(el)
        if own is not None:
            if depth > 0 and acc != 1.0:
                changed = True
                el.attrib["style"] = ";".join(p for p in el.attrib.get("style", "").split(";")
                                              if p.split(":", 1)[0].strip() != "opacity")
                el.attrib["opacity"] = repr(acc * own)
            acc = acc * own
        for c in el:
            walk(c, acc, depth + (own is not None))

    walk(root, 1.0, 0)
    return changed


def serialise(root: ET.Element) -> bytes:
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(root, encoding="utf-8")
