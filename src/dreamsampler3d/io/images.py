"""Reading inputs with one-line errors, and writing outputs atomically (never a half-written file)."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from ..errors import UserError
from .files import atomic_file


MAX_IMAGE_PIXELS = 100_000_000  # larger images are refused before they are decoded (a decompression bomb)


def load_image(path: str | os.PathLike, notes: list[str] | None = None) -> Image.Image:
    """An RGB image: alpha composited on white (icons often have transparent backgrounds), 16-bit channels
    scaled (not clipped) to 8 bits, the first frame of an animation (said in ``notes``)."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"image {path}: is a folder, not a file")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as img:
                if getattr(img, "n_frames", 1) > 1 and notes is not None:
                    notes.append(f"image {path} has {img.n_frames} frames; the first is used")
                img.load()
                return _to_rgb(img)
    except FileNotFoundError:
        raise UserError(f"image {path}: no such file") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(f"image {path}: more than {MAX_IMAGE_PIXELS:,} pixels (refused as a possible "
                        "decompression bomb)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UserError(f"image {path}: not a readable image ({type(exc).__name__})") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):  # 16-bit grey: scale, do not clip at 255
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray((arr / top * 255.0).round().clip(0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray((np.nan_to_num(arr).clip(0, 1) * 255).round().astype(np.uint8), "L")
    if img.mode in ("RGBA", "LA", "P", "PA") or "transparency" in img.info:
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img).convert("RGB")
    return img.convert("RGB")


def load_mask(path: str | os.PathLike, size: tuple[int, int]) -> np.ndarray:
    """A fill mask (white = fill, black = keep) as float {0, 1} [H, W]; must match the image size."""
    img = load_image(path).convert("L")
    if img.size != size:
        raise UserError(f"mask {path}: size {img.size[0]}x{img.size[1]} differs from the image's {size[0]}x{size[1]}")
    m = np.asarray(img, dtype=np.float32) / 255.0
    grey = float(((m > 0.1) & (m < 0.9)).mean())
    if grey > 0.02:
        raise UserError(f"mask {path}: not binary-like ({grey:.0%} of pixels are grey; use black = keep, white = fill)")
    return (m >= 0.5).astype(np.float32)


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> [1, 3, H, W] in [-1, 1]."""
    arr = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[1, 3, H, W] or [3, H, W] in [-1, 1] -> uint8 [H, W, 3]."""
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    return ((x.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()


def save_png(path: str | os.PathLike, image: torch.Tensor | np.ndarray) -> Path:
    arr = image if isinstance(image, np.ndarray) else to_uint8(image)
    return atomic_file(Path(path), lambda tmp: Image.fromarray(arr).save(tmp, format="PNG"))


def save_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_file(Path(path), lambda tmp: Path(tmp).write_text(text))


def save_json(path: str | os.PathLike, data: dict) -> Path:
    return save_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of uint8 images, optionally over a [H, W] region; identical images give 100 (a cap that
    keeps metrics.json strict JSON)."""
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if mask is not None:
        diff = diff[mask.astype(bool)]
    mse = float(diff.mean()) if diff.size else 0.0
    return 100.0 if mse == 0 else min(100.0, 10.0 * float(np.log10(255.0**2 / mse)))
