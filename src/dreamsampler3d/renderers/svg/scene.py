"""Tensor scene: paths of line/quadratic/cubic segments with paints, the parameters an optimiser moves.

Points live in user units (the SVG's viewBox space); ``render`` maps them to pixels. Colours are straight
(not premultiplied) RGBA in [0, 1]. Every float field may require grad.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor


@dataclass
class Path:
    """One subpath. ``degrees[s]`` is 1 (line), 2 (quadratic) or 3 (cubic); segment s uses ``degrees[s]``
    points after its start point. A closed path's last segment ends at ``points[0]`` (diffvg's layout)."""

    points: Tensor  # [P, 2] user units
    degrees: list[int]
    closed: bool = False

    def num_points_needed(self) -> int:
        return sum(self.degrees) + (0 if self.closed else 1)


@dataclass
class LinearGradient:
    """SVG linearGradient in user space (objectBoundingBox is resolved at import)."""

    start: Tensor  # [2]
    end: Tensor  # [2]
    offsets: Tensor  # [K] increasing in [0, 1]
    colors: Tensor  # [K, 4] straight RGBA
    transform: Tensor | None = None  # [3, 3] gradientTransform (user -> user)
    spread: str = "pad"  # pad | reflect | repeat


@dataclass
class RadialGradient:
    """SVG radialGradient (focal point ignored: treated as centred)."""

    center: Tensor  # [2]
    radius: Tensor  # [] or [2] (rx, ry)
    offsets: Tensor  # [K]
    colors: Tensor  # [K, 4]
    transform: Tensor | None = None  # [3, 3]
    spread: str = "pad"


Paint = Tensor | LinearGradient | RadialGradient  # a Tensor paint is one straight RGBA colour [4]


@dataclass
class Shape:
    """One drawable: subpaths filled together, then stroked on top (SVG paint order)."""

    paths: list[Path]
    fill: Paint | None = None
    stroke: Paint | None = None
    stroke_width: Tensor | float = 1.0
    fill_rule: str = "nonzero"  # or "evenodd"
    opacity: Tensor | float = 1.0
    linecap: str = "butt"  # butt | round | square
    linejoin: str = "miter"  # miter | round | bevel
    miterlimit: float = 4.0
    # [2, 2] linear map from the stroke's own space to user space, for strokes under a non-uniform or skewed
    # transform (the pen is a circle there, an ellipse here); None: width is in user units.
    stroke_transform: Tensor | None = None


@dataclass
class Scene:
    """A canvas of ``width`` x ``height`` user units holding shapes in painting order."""

    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)


def _t(x: Tensor | float, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return torch.tensor(float(x), dtype=torch.float32 if like is None else like.dtype,
                        device=None if like is None else like.device)


def polygon(points: Tensor, closed: bool = True) -> Path:
    """Straight-edged path through ``points`` [P, 2] (polygon or polyline)."""
    n = points.shape[0]
    return Path(points, [1] * (n if closed else max(n - 1, 0)), closed)


def rect(x: float, y: float, w: float, h: float, dtype: torch.dtype = torch.float32) -> Path:
    pts = torch.tensor([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=dtype)
    return polygon(pts)


def ellipse(cx: float, cy: float, rx: float, ry: float, dtype: torch.dtype = torch.float32) -> Path:
    """Four cubic arcs (kappa construction, max radial error 0.03 %)."""
    k = 4.0 * (math.sqrt(2.0) - 1.0) / 3.0
    unit = [(1, 0), (1, k), (k, 1), (0, 1), (-k, 1), (-1, k), (-1, 0), (-1, -k), (-k, -1), (0, -1), (k, -1), (1, -k)]
    pts = torch.tensor([[cx + rx * u, cy + ry * v] for u, v in unit], dtype=dtype)
    return Path(pts, [3, 3, 3, 3], closed=True)


def circle(cx: float, cy: float, r: float, dtype: torch.dtype = torch.float32) -> Path:
    return ellipse(cx, cy, r, r, dtype)
