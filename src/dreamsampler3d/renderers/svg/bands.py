"""Rendering in bands of rows, to bound the rasteriser's working memory.

Coverage (prefix sums along each row) and compositing (per pixel) never mix rows, so an image is the stack of
its bands, each computed from only the edges crossing it. A band's intermediates (per edge piece, per tile)
live only while it is computed; with gradients on, ``recomputed`` keeps none of them for backward and runs
the band again there, one band at a time: the peak is one band's, not the image's.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import torch
from torch import Tensor

from ...errors import UserError
from .coverage import TILE

BAND_WORK = 250_000  # edge pieces (row and column crossings) per band
BAND_PIXELS = 1 << 22  # subpixels per band (each full-image buffer of a band: 64 MiB at 4 x float32)


def band_rows(edges: Tensor, height: int, width: int, step: int = 1,
              work_per_band: int | None = None) -> list[tuple[int, int]]:
    """Row ranges [r0, r1) covering 0..height, each with about ``work_per_band`` (default BAND_WORK) edge pieces
    and at most about BAND_PIXELS pixels; edges [E, 4] (x0, y0, x1, y1) in pixels. An edge makes one piece per
    row and per column it crosses (spread evenly over its rows). Cuts fall on tile rows that are multiples of
    ``step`` (whole output pixels when supersampling)."""
    H, budget = height, work_per_band or BAND_WORK
    with torch.no_grad():
        ylo = torch.minimum(edges[:, 1], edges[:, 3]).clamp(0, H)
        yhi = torch.maximum(edges[:, 1], edges[:, 3]).clamp(0, H)
        work = (edges[:, 2] - edges[:, 0]).abs().clamp(max=4 * width) + (yhi - ylo) + 1  # [E] pieces
        total = float(work.sum())
        if not math.isfinite(total):  # a NaN or infinite outline would be a traceback in ceil() below
            raise UserError("cannot render: an outline has non-finite coordinates (degenerate geometry)")
        n = math.ceil(total / budget + H * width / BAND_PIXELS)
        if n <= 1 or H <= 1:
            return [(0, H)]
        first, last = ylo.floor().long().clamp(max=H - 1), yhi.floor().long().clamp(max=H - 1)
        rate = work / (last - first + 1).to(work.dtype) / budget
        starts = torch.zeros(H + 1, dtype=work.dtype, device=work.device)
        starts.index_add_(0, first, rate).index_add_(0, last + 1, -rate)
        cost = torch.cumsum(starts, 0)[:H] + width / BAND_PIXELS  # [H] each row's share of both budgets
        done = torch.cumsum(cost, 0)
        cuts = torch.searchsorted(done, done[-1] * torch.arange(1, n, dtype=done.dtype, device=done.device) / n)
    grid = step * TILE // math.gcd(step, TILE)
    rows = sorted({int(round(int(c) / grid)) * grid for c in cuts.tolist()} - {0})
    at = [0, *[r for r in rows if r < H], H]
    return list(zip(at[:-1], at[1:]))


def paint_tensors(paints: list[Any]) -> list[Tensor]:
    """Every tensor of the paints, in order: a solid colour is one, a gradient holds several."""
    out = []
    for p in paints:
        if isinstance(p, Tensor):
            out.append(p)
        else:
            out += [getattr(p, f.name) for f in dataclasses.fields(p) if isinstance(getattr(p, f.name), Tensor)]
    return out


def with_tensors(paints: list[Any], tensors: list[Tensor]) -> list[Any]:
    """The paints with their tensors (in paint_tensors' order) replaced."""
    it = iter(tensors)
    out = []
    for p in paints:
        if isinstance(p, Tensor):
            out.append(next(it))
        else:
            out.append(dataclasses.replace(p, **{f.name: next(it) for f in dataclasses.fields(p)
                                                 if isinstance(getattr(p, f.name), Tensor)}))
    return out


class _Recomputed(torch.autograd.Function):
    """fn(*inputs) without keeping its intermediates; backward computes it again, with grad, to take the
    gradients (first order only). torch.utils.checkpoint does the same but imports torch._dynamo (seconds
    and ~75 MiB) on first use."""

    @staticmethod
    def forward(ctx: Any, fn: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
        ctx.fn = fn
        ctx.save_for_backward(*inputs)
        with torch.no_grad():
            return fn(*inputs)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        need = ctx.needs_input_grad[1:]
        inputs = [x.detach().requires_grad_(n) for x, n in zip(ctx.saved_tensors, need)]
        with torch.enable_grad():
            out = ctx.fn(*inputs)
            # a scalar, so autograd needs no grad_outputs (checking their shapes imports sympy: ~0.6 s, ~38 MiB)
            vjp = (out * grad).sum()
        wanted = [x for x in inputs if x.requires_grad]
        grads = iter(torch.autograd.grad(vjp, wanted, allow_unused=True) if wanted and vjp.requires_grad
                     else [None] * len(wanted))
        return (None, *[next(grads) if x.requires_grad else None for x in inputs])


def recomputed(fn: Callable[..., Tensor], *inputs: Tensor) -> Tensor:
    """fn(*inputs), keeping nothing of it for backward but the inputs when a gradient is wanted."""
    if torch.is_grad_enabled() and any(x.requires_grad for x in inputs):
        return _Recomputed.apply(fn, *inputs)
    return fn(*inputs)
