"""Layer compositing: premultiplied "over" in painting order as a product of (1 - alpha), per tile.

Only (layer, tile) pairs that a layer's bounding box touches take part. A tile whose pairs all have
constant coverage and a solid paint is composited as one RGBA value; the others per pixel. In both cases
pairs are ranked by depth inside their tile, topmost first; their (1 - alpha) go into a padded
[tiles, depth, ...] block whose cumulative product gives each pair's transmittance through the layers
above it, and colours are summed back per tile.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .coverage import TiledCoverage
from .paint import paint_at
from .scene import Paint


def _over(tile: Tensor, alpha: Tensor, color: Tensor, num_tiles: int) -> tuple[Tensor, Tensor]:
    """Composite pairs into their tiles. tile [n] long (compact ids), alpha [n, ...], color [n, ..., 3]
    -> premultiplied rgb [num_tiles, ..., 3] and alpha [num_tiles, ...]."""
    dev = tile.device
    n = tile.shape[0]
    with torch.no_grad():
        order = torch.argsort(tile, stable=True)  # pairs arrive in painting order per tile
        sorted_tile = tile[order]
        counts = torch.bincount(sorted_tile, minlength=num_tiles)
        first = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(order)
        rank[order] = torch.arange(n, device=dev) - first[sorted_tile]
        top = counts[tile] - 1 - rank  # 0 = topmost layer of its tile
        depth = int(counts.max()) if n else 1
        slot = tile * depth + top  # [n]
    rest = alpha.shape[1:]
    # Slots run from the top layer down, so a forward cumprod is the product over this and higher layers.
    om = alpha.new_ones(num_tiles * depth, *rest).index_copy(0, slot, 1 - alpha)
    cp = torch.cumprod(om.view(num_tiles, depth, *rest), 1)  # [nt, D, ...]
    above = cp.view(num_tiles * depth, *rest).index_select(0, (slot - 1).clamp(min=0))  # product over higher layers
    trans = torch.where((top == 0).view(-1, *([1] * len(rest))), torch.ones_like(above), above)
    prem = (alpha * trans)[..., None] * color
    rgb = alpha.new_zeros(num_tiles, *rest, 3).index_add(0, tile, prem)
    return rgb, 1 - cp[:, -1]


CHUNK_SLOTS = 4096  # (tile, depth) slots of T x T pixels composited at once: bounds the padded blocks' memory


def _chunks(tiles: Tensor, pairs: Tensor) -> list[Tensor]:
    """Split pairs [n] (indices, with their tile ids ``tiles`` [n]) into groups of whole tiles whose padded
    [tiles, depth] block stays within CHUNK_SLOTS: one deep tile no longer pads every other tile to its depth."""
    if len(pairs) == 0:
        return []
    with torch.no_grad():
        uniq, inverse, counts = torch.unique(tiles, return_inverse=True, return_counts=True)
        order = torch.argsort(counts, stable=True)  # shallow tiles together, deep ones together
        groups, cur = [], []
        counts_l = counts[order].tolist()
        for k, c in enumerate(counts_l):
            if cur and (len(cur) + 1) * c > CHUNK_SLOTS:  # sorted: c is this group's depth so far
                groups.append(cur)
                cur = []
            cur.append(k)
        if cur:
            groups.append(cur)
        group_of_tile = torch.empty(len(uniq), dtype=torch.long, device=tiles.device)
        for g, members in enumerate(groups):
            group_of_tile[order[torch.tensor(members, device=tiles.device)]] = g
        pair_group = group_of_tile[inverse]
        return [pairs[pair_group == g] for g in range(len(groups))]


def composite(cov: TiledCoverage, paints: list[Paint], opacity: Tensor, layer_scene: Tensor, num_scenes: int,
              scale: Tensor, row0: int = 0) -> Tensor:
    """Premultiplied RGBA [B, H, W, 4]. paints/opacity [L] per layer, layer_scene [L] long (layers of a
    scene contiguous, in painting order), scale [B, 2] pixels per user unit; ``row0``: the image row of the
    coverage's first row (a band of the image: gradients are sampled where the band lies)."""
    H, W, T = cov.height, cov.width, cov.tile
    ty, tx = -(-H // T), -(-W // T)
    dev, dt = cov.const.device, cov.const.dtype
    nt = num_scenes * ty * tx
    P = cov.layer.shape[0]
    img = torch.zeros(nt, T, T, 4, device=dev, dtype=dt)  # filled in place: no copy per tile group
    if P:
        tile_id = (layer_scene[cov.layer] * ty + cov.tile_y) * tx + cov.tile_x  # [P]
        is_grad = torch.tensor([not isinstance(p, Tensor) for p in paints], device=dev)
        solid = torch.stack([p.to(dev, dt) if isinstance(p, Tensor) else torch.zeros(4, device=dev, dtype=dt)
                             for p in paints])  # [L, 4]
        with torch.no_grad():
            per_pixel = cov.full | is_grad[cov.layer]
            mixed_tile = torch.zeros(nt, dtype=torch.bool, device=dev).index_fill_(0, tile_id[per_pixel], True)
            pm = mixed_tile[tile_id]
            sc_idx, mx_idx = (~pm).nonzero().squeeze(1), pm.nonzero().squeeze(1)  # painting order kept
        col = solid[cov.layer]  # [P, 4]
        a_all = cov.const * col[:, 3] * opacity[cov.layer]
        if len(sc_idx):  # constant tiles: one RGBA per tile
            with torch.no_grad():
                ids = torch.zeros(nt, dtype=torch.bool, device=dev).index_fill_(0, tile_id[sc_idx], True).nonzero().squeeze(1)
                compact = torch.full((nt,), -1, dtype=torch.long, device=dev)
                compact[ids] = torch.arange(len(ids), device=dev)
            rgb, alpha = _over(compact[tile_id[sc_idx]], a_all[sc_idx], col[sc_idx, :3], len(ids))
            img.index_put_((ids,), torch.cat([rgb, alpha[:, None]], -1)[:, None, None, :].expand(-1, T, T, 4))
        for chunk in _chunks(tile_id[mx_idx], mx_idx):  # edge tiles: per pixel, a bounded group of tiles at a time
            with torch.no_grad():
                ids = torch.unique(tile_id[chunk])
                compact = torch.full((nt,), -1, dtype=torch.long, device=dev)
                compact[ids] = torch.arange(len(ids), device=dev)
            lay = cov.layer[chunk]
            colm = col[chunk][:, None, None, :].expand(-1, T, T, 4)
            for li in is_grad.nonzero().squeeze(1).tolist():
                sel = (lay == li).nonzero().squeeze(1)
                if len(sel) == 0:
                    continue
                rng = torch.arange(T, device=dev, dtype=dt) + 0.5
                ys = cov.tile_y[chunk][sel, None].to(dt) * T + rng + row0  # [n, T]
                xs = cov.tile_x[chunk][sel, None].to(dt) * T + rng
                s = scale[layer_scene[li]]
                pts = torch.stack([xs[:, None, :].expand(-1, T, T) / s[0], ys[:, :, None].expand(-1, T, T) / s[1]], -1)
                colm = colm.index_put((sel,), paint_at(paints[li], pts).to(dt))
            a = cov.pixels(chunk) * colm[..., 3] * opacity[lay][:, None, None]  # [n, T, T]
            rgb, alpha = _over(compact[tile_id[chunk]], a, colm[..., :3], len(ids))
            img.index_put_((ids,), torch.cat([rgb, alpha[..., None]], -1))
    img = img.view(num_scenes, ty, tx, T, T, 4).permute(0, 1, 3, 2, 4, 5).reshape(num_scenes, ty * T, tx * T, 4)
    return img[:, :H, :W]
