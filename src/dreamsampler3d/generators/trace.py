"""An off-the-shelf tracer as a baseline: vtracer (a Rust tracer with binary wheels) turns a raster into an
SVG of stacked colour layers. The baselines "sample with the prior, then trace" and "trace the (restored)
raster" use it exactly as a user would, with its default settings."""

from __future__ import annotations

import io
import re

import numpy as np
from PIL import Image


def trace(image: np.ndarray, output_size: int | None = None) -> str:
    """uint8 [H, W, 3] -> SVG text; ``output_size``: the document's width in pixels (a viewBox keeps the
    traced coordinates, which are source pixels)."""
    import vtracer

    h, w = image.shape[:2]
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    text = vtracer.convert_raw_image_to_svg(buf.getvalue(), img_format="png", colormode="color",
                                            hierarchical="stacked", mode="spline")
    out_w = output_size or w
    out_h = round(out_w * h / w)
    return re.sub(r'width="\d+" height="\d+"', f'width="{out_w}" height="{out_h}" viewBox="0 0 {w} {h}"', text,
                  count=1)
