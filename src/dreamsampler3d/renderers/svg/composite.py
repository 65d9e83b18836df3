"""Layer compositing: premultiplied "over" in painting order, per tile (renderers/svg/tile_over.py).

Only (layer, tile) pairs that a layer's bounding box touches take part. A tile whose pairs all have
constant coverage and a solid paint is composited as one RGBA value; the others per pixel, with a solid
paint's colour kept as one value per pair.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .coverage import TiledCoverage
from .paint import paint_at
from .scene import Paint
from .tile_over import over_tiles


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
        op_all = col[:, 3] * opacity[cov.layer]  # [P] the paint's alpha times the layer's opacity
        if len(sc_idx):  # constant tiles: one RGBA per tile
            with torch.no_grad():
                ids = torch.zeros(nt, dtype=torch.bool, device=dev).index_fill_(0, tile_id[sc_idx], True).nonzero().squeeze(1)
                compact = torch.full((nt,), -1, dtype=torch.long, device=dev)
                compact[ids] = torch.arange(len(ids), device=dev)
            rgba = over_tiles(compact[tile_id[sc_idx]], cov.const[sc_idx], op_all[sc_idx], col[sc_idx, :3], len(ids))
            img.index_put_((ids,), rgba[:, None, None, :].expand(-1, T, T, 4))
        if len(mx_idx):  # edge tiles and gradient paints: per pixel
            with torch.no_grad():
                ids = torch.unique(tile_id[mx_idx])
                compact = torch.full((nt,), -1, dtype=torch.long, device=dev)
                compact[ids] = torch.arange(len(ids), device=dev)
            lay = cov.layer[mx_idx]
            colm = col[mx_idx][:, None, None, :]  # [n, 1, 1, 4]: one colour per pair while every paint is solid
            for li in is_grad.nonzero().squeeze(1).tolist():
                sel = (lay == li).nonzero().squeeze(1)
                if len(sel) == 0:
                    continue
                rng = torch.arange(T, device=dev, dtype=dt) + 0.5
                ys = cov.tile_y[mx_idx][sel, None].to(dt) * T + rng + row0  # [m, T]
                xs = cov.tile_x[mx_idx][sel, None].to(dt) * T + rng
                s = scale[layer_scene[li]]
                pts = torch.stack([xs[:, None, :].expand(-1, T, T) / s[0], ys[:, :, None].expand(-1, T, T) / s[1]], -1)
                colm = colm.expand(-1, T, T, 4).index_put((sel,), paint_at(paints[li], pts).to(dt))  # [n, T, T, 4]
            op = colm[..., 3] * opacity[lay][:, None, None]  # [n, 1, 1] (solid paints) or [n, T, T]
            img.index_put_((ids,), over_tiles(compact[tile_id[mx_idx]], cov.pixels(mx_idx), op, colm[..., :3], len(ids)))
    img = img.view(num_scenes, ty, tx, T, T, 4).permute(0, 1, 3, 2, 4, 5).reshape(num_scenes, ty * T, tx * T, 4)
    return img[:, :H, :W]
