"""Paint fields: the straight RGBA colour of a layer at given points (solid or gradient)."""

from __future__ import annotations

import torch
from torch import Tensor

from .scene import LinearGradient, Paint, RadialGradient


def _spread(t: Tensor, spread: str) -> Tensor:
    """Gradient parameter outside [0, 1] per SVG spreadMethod."""
    if spread == "repeat":
        return torch.remainder(t, 1.0)
    if spread == "reflect":
        return 1 - (1 - torch.remainder(t, 2.0)).abs()
    return t.clamp(0, 1)


def _stops(t: Tensor, offsets: Tensor, colors: Tensor) -> Tensor:
    """Piecewise-linear stop interpolation, t in [0, 1]: t [...] -> [..., 4]."""
    k = offsets.shape[0]
    if k == 1:
        return colors[0].expand(*t.shape, 4)
    with torch.no_grad():
        hi = torch.searchsorted(offsets.detach().contiguous(), t.detach().reshape(-1).contiguous(), right=True)
        hi = hi.view(t.shape).clamp(1, k - 1)
    lo = hi - 1
    o0, o1 = offsets[lo], offsets[hi]
    den = o1 - o0
    safe = den.abs() > 1e-9
    w = torch.where(safe, (t - o0) / torch.where(safe, den, torch.ones_like(den)), (t >= o1).to(t.dtype))
    w = w.clamp(0, 1)[..., None]
    out = colors[lo] * (1 - w) + colors[hi] * w
    below = (t < offsets[0].detach())[..., None]
    above = (t > offsets[-1].detach())[..., None]
    out = torch.where(below, colors[0].expand_as(out), out)
    return torch.where(above, colors[-1].expand_as(out), out)


def paint_at(paint: Paint, p: Tensor) -> Tensor:
    """Colour of a gradient at user-space points p [..., 2] -> [..., 4]."""
    if isinstance(paint, Tensor):
        return paint.expand(*p.shape[:-1], 4)
    dt, dev = p.dtype, p.device
    offsets, colors = paint.offsets.to(dev, dt), paint.colors.to(dev, dt)
    if paint.transform is not None:
        inv = torch.linalg.inv(paint.transform.to(p.device, dt))
        p = p @ inv[:2, :2].T + inv[:2, 2]
    if isinstance(paint, LinearGradient):
        start = paint.start.to(dev, dt)
        d = paint.end.to(dev, dt) - start
        t = ((p - start) * d).sum(-1) / (d * d).sum().clamp(min=1e-12)
    elif isinstance(paint, RadialGradient):
        r = paint.radius.to(dev, dt).reshape(-1)
        r = r.expand(2) if r.numel() == 1 else r
        q = (p - paint.center.to(dev, dt)) / r.clamp(min=1e-12)
        t = torch.sqrt((q * q).sum(-1) + 1e-12)
    else:
        raise TypeError(f"unknown paint {type(paint).__name__}")
    return _stops(_spread(t, getattr(paint, "spread", "pad")), offsets, colors)
