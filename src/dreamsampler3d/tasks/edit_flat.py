"""Raster edits of flat colour art (icons, logos) done as SVG edits.

On the latent, a 64 px icon's 1 px outlines and flat fills come back from the autoencoder as soft blobs, so an edit
that only recolours the icon returns a smeared one. Flat art is what the vectoriser represents (svg_init.is_flat_art):
the picture is vectorised at its own size, edited by edit-svg's machinery (shapes the edit does not concern keep
their geometry and fill), and result.png is the input with the pixels the edit changed replaced by the edited
SVG's render at the input's resolution. result.svg is written too. See docs/svg.md, "Raster edits of flat art"."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from ..generators.svg import SVGConfig
from ..generators.svg_from_scene import canvas_for
from ..generators.svg_init import generator_from_image, is_flat_art
from ..io.images import to_tensor
from ..renderers.svg.svg_export import save_svg
from .edit_svg import EditSVGOptions, EditSVGTask
from .full_size import changed_region, paste_back
from .svg_base import render_svg_text

VECTORISE_SIDE = 256  # px: larger pictures are vectorised from a box-filtered copy this long (icons gain nothing more)


def flat_art(image: Image.Image) -> bool:
    """Whether an RGB picture, at the size it would be vectorised, is flat colour art."""
    return is_flat_art(np.asarray(_for_vectorising(image)))


def _for_vectorising(image: Image.Image) -> Image.Image:
    w, h = image.size
    scale = VECTORISE_SIDE / max(w, h)
    if scale >= 1:
        return image
    return image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)


class FlatEditTask(EditSVGTask):
    """edit-svg on the picture's vectorisation; ``full_result`` brings the change back into the picture."""

    def __init__(self, prior, image: Image.Image, options: EditSVGOptions, num_steps: int, seed: int,
                 negative_prompt: str = ""):
        small = _for_vectorising(image)
        vectorised = generator_from_image(to_tensor(small), SVGConfig())
        super().__init__(prior, vectorised.scene(), options, num_steps, seed, negative_prompt)
        self.full_input = image
        # where the vectorised document sits on the prior's canvas: (scale, dx, dy) in canvas units
        _, _, self.doc_scale, self.doc_dx, self.doc_dy = canvas_for(float(small.size[0]), float(small.size[1]),
                                                                    prior.default_size, prior.size_multiple)
        self.doc_width, self.doc_height = small.size

    def _at_input_size(self, text: str) -> Tensor:
        """An SVG of the prior's canvas (written at the output size) rendered so its document covers the input's
        pixels -> [1, 3, H, W] in [-1, 1]: one to one when the input was vectorised at its own size, resampled to
        the input's sides when a shrunk copy (whose short side was rounded) was."""
        width, height = self.full_input.size
        per_unit = width / (self.doc_width * self.doc_scale)  # input pixels per canvas unit, along x
        canvas = render_svg_text(text, max(1, round(self.source.width * per_unit)))  # [1, 3, Hc, Wc]
        left, top = round(self.doc_dx * per_unit), round(self.doc_dy * per_unit)
        right = left + round(self.doc_width * self.doc_scale * per_unit)
        bottom = top + round(self.doc_height * self.doc_scale * per_unit)
        out = canvas[..., top:bottom, left:right]
        if tuple(out.shape[-2:]) != (height, width):
            out = torch.nn.functional.interpolate(out, size=(height, width), mode="bilinear", align_corners=False)
        return out

    @torch.no_grad()
    def full_result(self, result: Tensor) -> Tensor:
        """The input, with the pixels where the edited SVG's render differs from the input's vectorisation's render
        (grown one pixel) taken from the edited SVG's render at the input's size."""
        before_text = save_svg(self.source.scene(), size=self.output_size, decimals=self.svg_config.decimals)
        before = self._at_input_size(before_text)
        after = self._at_input_size(self.final()[1])
        return paste_back(self.full_input, after.to(result.device), changed_region(before, after).to(result.device))
