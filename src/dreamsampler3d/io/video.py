"""Videos of a run: mp4 through imageio's ffmpeg plugin (imageio-ffmpeg ships the binary), GIF otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from .files import atomic_file
from .images import to_uint8


def save_video(path: str | os.PathLike, frames: list[torch.Tensor] | list[np.ndarray], fps: int = 12) -> Path:
    """Frames [3, H, W] in [-1, 1] (or uint8 [H, W, 3]) -> path (.mp4), or path with .gif when mp4 fails.
    Written to a temporary file first, then renamed into place."""
    import imageio.v2 as imageio

    arrays = [f if isinstance(f, np.ndarray) else to_uint8(f) for f in frames]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    even = [a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2] for a in arrays]
    for target in (path, path.with_suffix(".gif")):
        try:
            if target.suffix == ".mp4":
                return atomic_file(target, lambda tmp: imageio.mimwrite(tmp, even, fps=fps, codec="libx264",
                                                                       macro_block_size=1, quality=8))
            return atomic_file(target, lambda tmp: imageio.mimwrite(tmp, arrays, duration=1000 / fps, loop=0))
        except Exception:
            if target.suffix == ".gif":
                raise
    raise RuntimeError("unreachable")
