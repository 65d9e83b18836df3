"""Raster results at the input's own size: the diffusion works at the prior's size, and only what it changed comes
back, upsampled, into the full-resolution input. Pixels it did not change (or did not fill) are the input's own.

Shared by edit and inpaint (docs/architecture.md); the region that changed is the inpainting masks, or for an
edit the pixels that moved by more than CHANGED at the working size, grown by one working pixel and feathered by
the bilinear upsampling.
"""

from __future__ import annotations

import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..io.images import to_tensor

CHANGED = 16 / 127.5  # 16/255 of the range in [-1, 1]: below it, a pixel kept its colour to the eye


def changed_region(before: Tensor, after: Tensor) -> Tensor:
    """[1, 3, h, w] twice -> [1, 1, h, w] in {0, 1}: where the working-size result differs visibly, grown 1 px."""
    moved = (after - before).abs().amax(1, keepdim=True) > CHANGED  # [1, 1, h, w]
    return F.max_pool2d(moved.float(), 3, stride=1, padding=1)


def paste_back(full: Image.Image, result: Tensor, region: Tensor) -> Tensor:
    """The full-size input [H, W] with the working-size result [1, 3, h, w] where region [1, 1, h', w'] (working or
    full size, in [0, 1]) says it changed; [1, 3, H, W] in [-1, 1]."""
    source = to_tensor(full).to(result.device)  # [1, 3, H, W]
    size = source.shape[-2:]
    if tuple(result.shape[-2:]) == tuple(size) and tuple(region.shape[-2:]) == tuple(size):
        up, weight = result, region
    else:
        up = F.interpolate(result, size=size, mode="bicubic", align_corners=False).clamp(-1, 1)
        weight = F.interpolate(region.float(), size=size, mode="bilinear", align_corners=False).clamp(0, 1)
    weight = weight.to(result.dtype)
    return source * (1 - weight) + up * weight
