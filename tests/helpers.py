"""Small input files written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def icon(path: Path, size: int = 32, colour: str = "red") -> Path:
    img = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(img).ellipse([size // 5, size // 5, size - size // 5, size - size // 5], fill=colour)
    img.save(path)
    return path


def box_mask(path: Path, size: int, box: tuple[int, int, int, int]) -> Path:
    m = Image.new("L", (size, size), 0)
    ImageDraw.Draw(m).rectangle(box, fill=255)
    m.save(path)
    return path


def gradient_mask(path: Path, size: int) -> Path:
    ramp = np.tile(np.linspace(0, 255, size, dtype=np.uint8), (size, 1))
    Image.fromarray(ramp, "L").save(path)
    return path
