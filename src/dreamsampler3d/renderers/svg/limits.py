"""Bounds on what an SVG may ask of us, so that a small hostile file cannot hang the tool or exhaust memory.

Every bound is a plain number in ``LIMITS``; each can be raised for one process with an environment variable
(``DREAMSAMPLER3D_MAX_PIXELS=...``), and each failure is a one-line ``UserError`` naming the bound."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass, fields

from ...errors import UserError
from .values import local


@dataclass
class Limits:
    max_bytes: int = 32 * 2**20  # an SVG file (after gzip) ...
    max_depth: int = 256  # ... its element nesting ...
    max_elements: int = 200_000  # ... and its elements once every <use> is expanded
    max_use_depth: int = 32  # <use> of <use> of ...
    max_segments: int = 200_000  # path segments in one render call, and written in one SVG file
    max_edges: int = 4_000_000  # straight edges after flattening curves (a bound on the rasteriser's memory)
    max_pixels: int = 2**26  # rendered pixels, supersampling included (8192 x 8192)

    @classmethod
    def from_environment(cls) -> "Limits":
        out = cls()
        for f in fields(cls):
            raw = os.environ.get(f"DREAMSAMPLER3D_{f.name.upper()}")
            if raw is not None:
                try:
                    setattr(out, f.name, int(raw))
                except ValueError:
                    raise UserError(f"DREAMSAMPLER3D_{f.name.upper()} must be an integer, got {raw!r}") from None
        return out


LIMITS = Limits.from_environment()


def exact(value: int | float) -> str:
    """A count as written in full (33,554,433, not 3.35544e+07: a rounded count can read as equal to its limit)."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 2**63):
        return f"{int(value):,}"
    return f"{value:g}"


def exceeded(what: str, value: int | float, name: str, at_least: bool = False) -> UserError:
    """The one-line error for a bound; ``at_least``: reading stopped at ``value``, the true figure may be more."""
    env = f"DREAMSAMPLER3D_{name.upper()}"
    shown = f"at least {exact(value)}" if at_least else exact(value)
    return UserError(f"{what}: {shown} is over the limit of {exact(getattr(LIMITS, name))} ({env} raises it)")


# Fewest segments each drawing element writes, so that a document that asks for more than max_segments is refused
# before svgelements turns it into objects (a 30 MB path took 56 s and 1.5 GB to reach the render's own count).
_SEGMENTS_OF = {"rect": 4, "circle": 4, "ellipse": 4, "line": 1}
_PATH_COMMANDS = b"LlHhVvCcSsQqTtAa"  # each starts at least one segment (M and Z do not)


def _number_runs(text: str) -> int:
    """How many runs of number characters ``text`` holds: at most its count of numbers (1-2 is one run)."""
    import numpy as np

    b = np.frombuffer(text.encode("utf-8", "replace"), np.uint8)
    if not len(b):
        return 0
    inside = ((b >= 48) & (b <= 57)) | (b == 46) | (b == 43) | (b == 45) | (b == 101) | (b == 69)  # 0-9 . + - e E
    return int(inside[0]) + int((inside[1:] & ~inside[:-1]).sum())


def written_segments(el: ET.Element) -> int:
    """At least how many path segments ``el`` writes (its own geometry, <use> not followed): a path's commands,
    or its numbers / 7 (an arc takes 7, a line 2) when commands repeat implicitly; 4 for a rect or an ellipse."""
    tag = local(el.tag)
    if tag == "path":
        d = el.attrib.get("d", "")
        if len(d) < 64:
            return 0  # a few segments: not worth counting
        raw = d.encode("utf-8", "replace")
        return max(sum(raw.count(c) for c in _PATH_COMMANDS), _number_runs(d) // 7)
    if tag in ("polyline", "polygon"):
        points = el.attrib.get("points", "")
        return _number_runs(points) // 2 - 1 if len(points) >= 64 else 0
    return _SEGMENTS_OF.get(tag, 0)


def _href(el: ET.Element) -> str | None:
    for key, value in el.attrib.items():
        if local(key) == "href":
            return value.strip()
    return None


def check_tree(root: ET.Element) -> list[str]:
    """Depth, written path segments and <use> expansion of a parsed SVG within the limits (iteratively: no
    recursion limit to hit).
    Returns notes for the user (external references that are not followed)."""
    depth_of = {root: 1}
    stack = [root]
    ids: dict[str, ET.Element] = {}
    order: list[ET.Element] = []
    segments = 0
    while stack:
        el = stack.pop()
        order.append(el)
        d = depth_of.pop(el)
        if d > LIMITS.max_depth:
            raise exceeded("SVG nesting depth", d, "max_depth")
        segments += written_segments(el)
        if segments > LIMITS.max_segments:
            raise exceeded("path segments written in the SVG", segments, "max_segments", at_least=True)
        if "id" in el.attrib:
            ids.setdefault(el.attrib["id"], el)
        for child in el:
            depth_of[child] = d + 1
            stack.append(child)
    notes: set[str] = set()

    def edges(el: ET.Element) -> list[ET.Element]:
        """What el draws: its children, and the element a <use> points at."""
        out = list(el)
        if local(el.tag) == "use":
            ref = _href(el) or ""
            if ref.startswith("#") and ref[1:] in ids:
                out.append(ids[ref[1:]])
            elif ref and not ref.startswith("#"):
                notes.add(f"SVG <use> of an external file is not followed: {ref[:80]}")
        return out

    size: dict[ET.Element, int] = {}  # elements el draws, every <use> expanded
    use_depth: dict[ET.Element, int] = {}
    active: set[ET.Element] = set()
    work: list[tuple[ET.Element, bool]] = [(root, False)]
    while work:  # iterative post-order over children and <use> references
        el, done = work.pop()
        if el in size:
            continue
        if not done:
            if el in active:
                raise UserError(f"SVG <use> references form a cycle (through <{local(el.tag)}>)")
            active.add(el)
            work.append((el, True))
            for nxt in edges(el):
                if nxt in active:
                    raise UserError(f"SVG <use> references form a cycle (through <{local(nxt.tag)}>)")
                if nxt not in size:
                    work.append((nxt, False))
            continue
        active.discard(el)
        targets = edges(el)
        total = 1 + sum(size[t] for t in targets)
        deepest = max([use_depth[t] for t in targets], default=0) + (1 if local(el.tag) == "use" else 0)
        if deepest > LIMITS.max_use_depth:
            raise exceeded("SVG <use> nesting", deepest, "max_use_depth")
        if total > LIMITS.max_elements:
            raise exceeded("SVG elements with every <use> expanded", total, "max_elements")
        size[el], use_depth[el] = total, deepest
    return sorted(notes)
