"""The one reader of SVG attribute values the importer uses: numbers, percentages, style declarations. An
invalid value (unparseable, another unit, NaN or infinite) is ignored, as SVG says, and the default stands."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

_NUMBER = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(px|%)?\s*$")


def local(tag) -> str:
    """An element's or attribute's name without its XML namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def number(value: str | None, default: float, percent: bool = True) -> float:
    """'12', '12px' -> 12.0; '50%' -> 0.5 when percentages are allowed; anything else -> default."""
    if value is None:
        return default
    m = _NUMBER.match(str(value))
    if m is None or (m.group(2) == "%" and not percent):
        return default
    x = float(m.group(1)) / (100.0 if m.group(2) == "%" else 1.0)
    return x if math.isfinite(x) else default


def declarations(el: ET.Element) -> dict[str, str]:
    """Presentation attributes and the style attribute's declarations (which win), stripped."""
    out = {local(k): v.strip() for k, v in el.attrib.items()}
    for part in el.attrib.get("style", "").split(";"):
        if ":" in part:
            k, v = part.split(":", 1)
            out[k.strip()] = v.strip()
    return out
