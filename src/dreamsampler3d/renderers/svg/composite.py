"""Layer compositing: premultiplied "over" in painting order as a product of (1 - alpha).

Layers go through in chunks whose dense [n, H, W] tensor stays under a budget; "over" is associative, so
each chunk is reduced with a reverse cumulative product and folded into the running image.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .coverage import PackedCoverage
from .paint import paint_field
from .scene import Paint

CHUNK_ELEMENTS = 1 << 22  # dense floats per chunk (16 MiB in fp32)


def composite(cov: PackedCoverage, layer_first: int, paints: list[Paint], opacity: Tensor,
              sx: float, sy: float, row_start: Tensor) -> Tensor:
    """Premultiplied RGBA [H, W, 4] of layers ``layer_first .. layer_first + len(paints)``.
    opacity [n] per layer; row_start [L + 1] packed-row offsets per layer (rows are grouped by layer)."""
    H, W = cov.height, cov.width
    n = len(paints)
    out = cov.rows.new_zeros(H, W, 4)
    if n == 0:
        return out
    chunk = max(1, CHUNK_ELEMENTS // (H * W))
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        l0, l1 = layer_first + c0, layer_first + c1
        r0, r1 = int(row_start[l0]), int(row_start[l1])
        rows = cov.rows[r0:r1]
        dest = (cov.row_layer[r0:r1] - l0) * H + cov.row_y[r0:r1]
        cv = rows.new_zeros((c1 - c0) * H, W).index_copy(0, dest, rows).view(c1 - c0, H, W)
        fields = [paint_field(p, H, W, sx, sy) for p in paints[c0:c1]]
        if all(f.shape[0] == 1 for f in fields):
            col = torch.stack(fields)  # [n, 1, 1, 4]
        else:
            col = torch.stack([f.expand(H, W, 4) for f in fields])  # [n, H, W, 4]
        a = cv * col[..., 3] * opacity[c0:c1, None, None]  # [n, H, W]
        prem = a[..., None] * col[..., :3]  # [n, H, W, 3]
        rev = torch.cumprod((1 - a).flip(0), 0).flip(0)  # [n, H, W] prod_{j >= i} (1 - a_j)
        trans = torch.cat([rev[1:], torch.ones_like(rev[:1])])  # prod_{j > i}
        rgb = (prem * trans[..., None]).sum(0)  # [H, W, 3]
        chunk_img = torch.cat([rgb, (1 - rev[0])[..., None]], -1)
        out = chunk_img + out * rev[0][..., None]
    return out
