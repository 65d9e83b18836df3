"""Layer compositing: premultiplied "over" in painting order as a product of (1 - alpha), per tile.

Only (layer, tile) pairs that a layer's bounding box touches take part. Pairs are ranked by depth inside
their tile; alphas go into a padded [tiles, depth, T, T] block whose reverse cumulative product gives
each pair's transmittance through the layers above it; colours are then summed back per tile.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .coverage import TiledCoverage
from .paint import paint_at
from .scene import Paint


def composite(cov: TiledCoverage, paints: list[Paint], opacity: Tensor, layer_scene: Tensor, num_scenes: int,
              scale: Tensor) -> Tensor:
    """Premultiplied RGBA [B, H, W, 4]. paints/opacity [L] per layer, layer_scene [L] long (layers of a
    scene contiguous, in painting order), scale [B, 2] pixels per user unit."""
    H, W, T = cov.height, cov.width, cov.tile
    ty, tx = -(-H // T), -(-W // T)
    dev, dt = cov.tiles.device, cov.tiles.dtype
    nt = num_scenes * ty * tx
    P = cov.tiles.shape[0]
    if P == 0:
        return torch.zeros(num_scenes, H, W, 4, device=dev, dtype=dt)
    tile_id = (layer_scene[cov.layer] * ty + cov.tile_y) * tx + cov.tile_x  # [P]
    # Colour per pair: solid colours broadcast, gradients evaluated at the tile's pixel centres.
    grad_layers = [i for i, p in enumerate(paints) if not isinstance(p, Tensor)]
    solid = torch.stack([p.to(dev, dt) if isinstance(p, Tensor) else torch.zeros(4, device=dev, dtype=dt)
                         for p in paints])  # [L, 4]
    col = solid[cov.layer][:, None, None, :]  # [P, 1, 1, 4]
    if grad_layers:
        col = col.expand(P, T, T, 4)
        rng = torch.arange(T, device=dev, dtype=dt) + 0.5
        for li in grad_layers:
            sel = (cov.layer == li).nonzero().squeeze(1)
            if len(sel) == 0:
                continue
            ys = cov.tile_y[sel, None].to(dt) * T + rng  # [n, T]
            xs = cov.tile_x[sel, None].to(dt) * T + rng
            s = scale[layer_scene[li]]
            pts = torch.stack([xs[:, None, :].expand(-1, T, T) / s[0], ys[:, :, None].expand(-1, T, T) / s[1]], -1)
            col = col.index_put((sel,), paint_at(paints[li], pts).to(dt))
    a = cov.tiles * col[..., 3] * opacity[cov.layer][:, None, None]  # [P, T, T]
    with torch.no_grad():
        order = torch.argsort(tile_id * (cov.num_layers + 1) + cov.layer)
        sorted_tile = tile_id[order]
        counts = torch.bincount(sorted_tile, minlength=nt)
        first = torch.cumsum(counts, 0) - counts
        rank = torch.empty_like(order)
        rank[order] = torch.arange(P, device=dev) - first[sorted_tile]
        depth = int(counts.max())
        slot = tile_id * depth + rank  # [P]
    om = torch.ones(nt * depth, T, T, device=dev, dtype=dt).index_copy(0, slot, 1 - a).view(nt, depth, T, T)
    rev = torch.cumprod(om.flip(1), 1).flip(1)  # [nt, D, T, T] prod over this and later layers
    trans = torch.cat([rev[:, 1:], torch.ones_like(rev[:, :1])], 1).reshape(nt * depth, T, T)[slot]  # [P, T, T]
    prem = (a * trans)[..., None] * col[..., :3]  # [P, T, T, 3]
    rgb = torch.zeros(nt, T, T, 3, device=dev, dtype=dt).index_add(0, tile_id, prem)
    img = torch.cat([rgb, (1 - rev[:, 0])[..., None]], -1)  # [nt, T, T, 4]
    img = img.view(num_scenes, ty, tx, T, T, 4).permute(0, 1, 3, 2, 4, 5).reshape(num_scenes, ty * T, tx * T, 4)
    return img[:, :H, :W]
