"""Raster results at the input's own size: the diffusion works at the prior's size, and only what it changed comes
back, upsampled, into the full-resolution input. Pixels it did not change (or did not fill) are the input's own.

Shared by edit and inpaint (docs/architecture.md); the region that changed is the inpainting masks, or for an
edit the pixels that moved by more than CHANGED at the working size, grown by one working pixel and feathered by
the bilinear upsampling.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from ..io.images import to_tensor

CHANGED = 16 / 127.5  # 16/255 of the range in [-1, 1]: below it, a pixel kept its colour to the eye


def changed_region(before: Tensor, after: Tensor) -> Tensor:
    """[1, 3, h, w] twice -> [1, 1, h, w] in {0, 1}: where the working-size result differs visibly, grown 1 px."""
    moved = (after - before).abs().amax(1, keepdim=True) > CHANGED  # [1, 1, h, w]
    return F.max_pool2d(moved.float(), 3, stride=1, padding=1)


Box = tuple[int, int, int, int]  # left, top, right, bottom in the input's pixels


def mask_window(union: np.ndarray, working: tuple[int, int], context: float) -> Box | None:
    """The window of the input that inpainting works on: the masks' bounding box grown by ``context`` times its
    side, with the working size's aspect, centred on the masks (it may reach past the image's edges, which
    ``crop_window`` pads); None when it would cover the whole image anyway.

    A prompt names what goes in the mask, but a prior's conditional estimate is a whole picture of it (a small
    prior draws "a yellow square" in the middle of its canvas): worked on the whole image, a small box mask off
    the middle takes whatever lies there. Worked on a window centred on the mask, the mask is the middle of the
    canvas. union [H, W] in {0, 1}; working (h, w)."""
    rows, cols = np.nonzero(union > 0.5)
    if len(rows) == 0:
        return None
    height, width = union.shape
    aspect = working[1] / working[0]  # w / h
    bh, bw = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    side_h = int(round(max(bh, bw / aspect) * (1 + context)))
    side_w = int(round(side_h * aspect))
    if side_h >= height or side_w >= width:
        return None
    top = int(round((rows.min() + rows.max() + 1) / 2 - side_h / 2))
    left = int(round((cols.min() + cols.max() + 1) / 2 - side_w / 2))
    return left, top, left + side_w, top + side_h


def crop_window(image: np.ndarray, box: Box) -> np.ndarray:
    """image [H, W, ...] cut to box, its edge pixels repeated where the box reaches past the image."""
    left, top, right, bottom = box
    height, width = image.shape[:2]
    pad = [(max(0, -top), max(0, bottom - height)), (max(0, -left), max(0, right - width))]
    padded = np.pad(image, pad + [(0, 0)] * (image.ndim - 2), mode="edge")
    return padded[top + pad[0][0]:bottom + pad[0][0], left + pad[1][0]:right + pad[1][0]]


def crop_image(image: Image.Image, box: Box) -> Image.Image:
    """An RGB picture cut to box, padded like ``crop_window``."""
    return Image.fromarray(crop_window(np.asarray(image.convert("RGB")), box))


def paste_back(full: Image.Image, result: Tensor, region: Tensor, box: Box | None = None) -> Tensor:
    """The full-size input [H, W] with the working-size result [1, 3, h, w] where region [1, 1, h', w'] (working or
    full size, in [0, 1]) says it changed; [1, 3, H, W] in [-1, 1]. With a ``box``, the result is that window's
    (``mask_window``), and ``region`` must be the full-size one."""
    if box is not None:
        left, top, right, bottom = box
        window = crop_image(full, box)
        region_window = torch.from_numpy(crop_window(region[0, 0].cpu().numpy(), box))[None, None]
        inner = paste_back(window, result, region_window.to(result.device))  # [1, 3, bh, bw]
        out = to_tensor(full).to(result.device)
        height, width = out.shape[-2:]
        t, b_, l_, r = max(top, 0), min(bottom, height), max(left, 0), min(right, width)
        out[..., t:b_, l_:r] = inner[..., t - top:b_ - top, l_ - left:r - left]
        return out
    source = to_tensor(full).to(result.device)  # [1, 3, H, W]
    size = source.shape[-2:]
    if tuple(result.shape[-2:]) == tuple(size) and tuple(region.shape[-2:]) == tuple(size):
        up, weight = result, region
    else:
        up = F.interpolate(result, size=size, mode="bicubic", align_corners=False).clamp(-1, 1)
        weight = F.interpolate(region.float(), size=size, mode="bilinear", align_corners=False).clamp(0, 1)
    weight = weight.to(result.dtype)
    return source * (1 - weight) + up * weight
