"""Paint fields: the straight RGBA colour of a layer at each pixel centre (solid or gradient)."""

from __future__ import annotations

import torch
from torch import Tensor

from .scene import LinearGradient, Paint, RadialGradient


def _stops(t: Tensor, offsets: Tensor, colors: Tensor) -> Tensor:
    """Piecewise-linear stop interpolation with pad spread: t [...] -> [..., 4]."""
    t = t.clamp(0, 1)
    k = offsets.shape[0]
    if k == 1:
        return colors[0].expand(*t.shape, 4)
    with torch.no_grad():
        hi = torch.searchsorted(offsets.detach().contiguous(), t.detach().contiguous(), right=True).clamp(1, k - 1)
    lo = hi - 1
    o0, o1 = offsets[lo], offsets[hi]
    den = (o1 - o0)
    safe = den.abs() > 1e-9
    w = torch.where(safe, (t - o0) / torch.where(safe, den, torch.ones_like(den)), (t >= o1).to(t.dtype))
    w = w.clamp(0, 1)[..., None]
    out = colors[lo] * (1 - w) + colors[hi] * w
    below = (t < offsets[0].detach())[..., None]
    above = (t > offsets[-1].detach())[..., None]
    out = torch.where(below, colors[0].expand_as(out), out)
    return torch.where(above, colors[-1].expand_as(out), out)


def paint_field(paint: Paint, height: int, width: int, sx: float, sy: float) -> Tensor:
    """Colour at every pixel centre: [H, W, 4] for gradients, [1, 1, 4] for a solid colour."""
    if isinstance(paint, Tensor):
        return paint.view(1, 1, 4)
    dev = paint.offsets.device
    dt = paint.colors.dtype
    ys = (torch.arange(height, device=dev, dtype=dt) + 0.5) / sy
    xs = (torch.arange(width, device=dev, dtype=dt) + 0.5) / sx
    p = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)  # [H, W, 2] user units
    if paint.transform is not None:
        inv = torch.linalg.inv(paint.transform.to(dt))
        p = p @ inv[:2, :2].T + inv[:2, 2]
    if isinstance(paint, LinearGradient):
        d = paint.end - paint.start
        t = ((p - paint.start) * d).sum(-1) / (d * d).sum().clamp(min=1e-12)
    elif isinstance(paint, RadialGradient):
        r = paint.radius.reshape(-1)
        r = r.expand(2) if r.numel() == 1 else r
        q = (p - paint.center) / r.clamp(min=1e-12)
        t = torch.sqrt((q * q).sum(-1) + 1e-12)
    else:
        raise TypeError(f"unknown paint {type(paint).__name__}")
    return _stops(t, paint.offsets, paint.colors)
