"""<linearGradient>/<radialGradient> definitions read from the XML tree (svgelements does not model them).

Only attributes and stops are read here; all path data goes through svgelements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import svgelements as se

from .values import declarations, local, number

XLINK = "{http://www.w3.org/1999/xlink}href"


@dataclass
class GradientDef:
    kind: str  # "linear" | "radial"
    attrs: dict[str, str]
    stops: list[tuple[float, tuple[float, float, float, float]]] = field(default_factory=list)

    def get(self, key: str, default: float) -> float:
        return number(self.attrs.get(key), default)

    @property
    def units(self) -> str:
        return self.attrs.get("gradientUnits", "objectBoundingBox")

    @property
    def transform(self) -> se.Matrix:
        return se.Matrix(self.attrs.get("gradientTransform", ""))


def read_gradients(root: ET.Element, current_color: str = "black") -> dict[str, GradientDef]:
    """All gradients by id, with xlink:href inheritance of attributes and stops resolved."""
    raw: dict[str, ET.Element] = {}
    for el in root.iter():
        if local(el.tag) in ("linearGradient", "radialGradient") and "id" in el.attrib:
            raw[el.attrib["id"]] = el
    out: dict[str, GradientDef] = {}

    def build(gid: str, depth: int = 0) -> GradientDef | None:
        if gid in out:
            return out[gid]
        el = raw.get(gid)
        if el is None or depth > 16:
            return None
        kind = "linear" if local(el.tag) == "linearGradient" else "radial"
        attrs: dict[str, str] = {}
        stops = []
        href = el.attrib.get(XLINK) or el.attrib.get("href")
        if href and href.startswith("#"):
            parent = build(href[1:], depth + 1)
            if parent is not None:
                attrs.update(parent.attrs)
                stops = list(parent.stops)
        attrs.update({k: v for k, v in el.attrib.items() if k not in (XLINK, "href", "id")})
        own = []
        last = 0.0
        for st in el:
            if local(st.tag) != "stop":
                continue
            s = declarations(st)
            off = min(max(number(s.get("offset"), 0.0), last), 1.0)
            last = off
            cs = s.get("stop-color", "black")
            c = se.Color(current_color if cs == "currentColor" else cs)
            if c.value is None:
                rgba = (0.0, 0.0, 0.0, 0.0)
            else:
                a = c.alpha / 255.0 * min(max(number(s.get("stop-opacity"), 1.0), 0.0), 1.0)
                rgba = (c.red / 255.0, c.green / 255.0, c.blue / 255.0, a)
            own.append((off, rgba))
        if own:
            stops = own
        g = GradientDef(kind, attrs, stops)
        out[gid] = g
        return g

    for gid in raw:
        build(gid)
    return out
