"""Premultiplied "over" of many layers per tile, with a hand-written backward that keeps one value per pixel.

Pairs (a layer's part of a tile) are composited one depth level at a time, topmost first: level d holds the
d-th layer from the top of every tile, so a tile appears at most once per level. With c = (r, g, b, 1):

    out = sum_k a_k T_k c_k,    T_k = prod_{j < k} (1 - a_j)       (transmittance through the layers above)

Backward runs the levels bottom-up with the suffix S_k = a_k q_k + (1 - a_k) S_{k+1}, q_k = grad . c_k:

    dL/da_k = T_k (q_k - S_{k+1}),    dL/dc_k = a_k T_k grad

with a = coverage x opacity taken apart inside (so the per-pixel alpha is never a tensor of its own).

No division by (1 - a_k), so opaque layers (a = 1, the inside of every opaque shape) get exact gradients. What
autograd would keep for a cumulative product over a padded [tiles, depth, ...] block (several such blocks) is
replaced by one tensor: T per pair and pixel.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def _levels(tile: Tensor, num_tiles: int) -> list[Tensor]:
    """Pair indices per depth level, topmost first; pairs arrive in painting order within each tile."""
    n = tile.shape[0]
    order = torch.argsort(tile, stable=True)
    sorted_tile = tile[order]
    counts = torch.bincount(sorted_tile, minlength=num_tiles)
    first = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(n, device=tile.device) - first[sorted_tile]
    top = counts[tile] - 1 - rank  # 0 = topmost layer of its tile
    by_level = torch.argsort(top, stable=True)
    sizes = torch.bincount(top).tolist() if n else []
    return list(torch.split(by_level, sizes))


class _Over(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, tile: Tensor, cover: Tensor, opacity: Tensor, color: Tensor, num_tiles: int) -> Tensor:
        levels = _levels(tile, num_tiles)
        rest = cover.shape[1:]
        out = cover.new_zeros(num_tiles, *rest, 4)
        trans = cover.new_ones(num_tiles, *rest)  # [nt, ...] through the levels done so far
        above = torch.empty_like(cover)  # [n, ...] T of each pair
        for idx in levels:
            t_id = tile[idx]
            t = trans.index_select(0, t_id)
            above.index_copy_(0, idx, t)
            w = cover.index_select(0, idx) * opacity.index_select(0, idx) * t
            out.index_add_(0, t_id, torch.cat([w[..., None] * color.index_select(0, idx).expand(*w.shape, 3),
                                               w[..., None]], -1))
            trans.index_copy_(0, t_id, t - w)
        ctx.save_for_backward(tile, cover, opacity, color, above)
        ctx.num_tiles = num_tiles
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        tile, cover, opacity, color, above = ctx.saved_tensors
        levels = _levels(tile, ctx.num_tiles)
        rest = cover.shape[1:]
        g_rgb, g_a = grad[..., :3], grad[..., 3]
        suffix = cover.new_zeros(ctx.num_tiles, *rest)  # S of the level below, per tile
        want = ctx.needs_input_grad
        grads = [torch.empty_like(x) if w else None for x, w in zip((cover, opacity, color), want[1:4])]
        for idx in reversed(levels):
            t_id = tile[idx]
            c, o, t = cover.index_select(0, idx), opacity.index_select(0, idx), above.index_select(0, idx)
            col = color.index_select(0, idx)
            a = c * o
            g = g_rgb.index_select(0, t_id)  # [m, ..., 3]
            q = (g * col).sum(-1) + g_a.index_select(0, t_id)
            s = suffix.index_select(0, t_id)
            g_alpha = t * (q - s)
            if grads[0] is not None:
                grads[0].index_copy_(0, idx, (g_alpha * o).sum_to_size(c.shape))
            if grads[1] is not None:
                grads[1].index_copy_(0, idx, (g_alpha * c).sum_to_size(o.shape))
            if grads[2] is not None:
                grads[2].index_copy_(0, idx, ((a * t)[..., None] * g).sum_to_size(col.shape))
            suffix.index_copy_(0, t_id, a * q + (1 - a) * s)
        return None, *grads, None


def over_tiles(tile: Tensor, cover: Tensor, opacity: Tensor, color: Tensor, num_tiles: int) -> Tensor:
    """Composite pairs into their tiles, in painting order, with alpha = cover * opacity. tile [n] long (ids <
    num_tiles), cover [n, ...], opacity [n, ...] and color [n, ..., 3] broadcast against cover ([n, 1, 1] and
    [n, 1, 1, 3] for a solid paint: one value per pair) -> premultiplied RGBA [num_tiles, ..., 4]."""
    return _Over.apply(tile, cover, opacity, color, num_tiles)
