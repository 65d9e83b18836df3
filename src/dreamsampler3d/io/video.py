"""Videos of a run: mp4 through imageio's ffmpeg plugin (imageio-ffmpeg ships the binary), GIF otherwise."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .images import to_uint8


def save_video(path: str | os.PathLike, frames: list[torch.Tensor] | list[np.ndarray], fps: int = 12) -> Path:
    """Frames [3, H, W] in [-1, 1] (or uint8 [H, W, 3]) -> path (.mp4), or path with .gif when mp4 fails.
    Written to a temporary file first, then renamed into place."""
    import imageio.v2 as imageio

    arrays = [f if isinstance(f, np.ndarray) else to_uint8(f) for f in frames]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for target in (path, path.with_suffix(".gif")):
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".video.", suffix=target.suffix)
        os.close(fd)
        try:
            if target.suffix == ".mp4":
                even = [a[: a.shape[0] // 2 * 2, : a.shape[1] // 2 * 2] for a in arrays]
                imageio.mimwrite(tmp, even, fps=fps, codec="libx264", macro_block_size=1, quality=8)
            else:
                imageio.mimwrite(tmp, arrays, duration=1000 / fps, loop=0)
            os.replace(tmp, target)
            return target
        except Exception:
            Path(tmp).unlink(missing_ok=True)
            if target.suffix == ".gif":
                raise
    raise RuntimeError("unreachable")
