"""Is a picture recognisably the thing it was asked to be? Retrieval among drawings of an unseen emoji set.

The judge holds one drawing per concept from a set the prior never trained on (OpenMoji). A picture of concept c
counts as recognised when it is more like c's drawing than like the drawing of each of 99 other concepts (fixed
per concept by a seed). The likeness is plain pixels, with nothing learnt: both pictures are cropped to their ink
(a square around everything not near-white), area-averaged to 32 px, blurred by one pixel, centred and compared by
cosine. Nothing learnt means it cannot favour the style of the sets the prior learnt from; the benchmark reports
what it gives on real drawings of other designers as the scale (docs/prior.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

SIDE = 32
DISTRACTORS = 99


def ink_square(image: np.ndarray, white: int = 235) -> np.ndarray:
    """uint8 [H, W, 3] -> the smallest square (clipped to the image) around every pixel that is not near-white."""
    ink = (image[..., :3] < white).any(-1)  # [H, W]
    ys, xs = np.nonzero(ink)
    if len(ys) < 4:
        return image[..., :3]
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    side = max(y1 - y0, x1 - x0)
    cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
    top = int(np.clip(cy - side // 2, 0, max(image.shape[0] - side, 0)))
    left = int(np.clip(cx - side // 2, 0, max(image.shape[1] - side, 0)))
    return image[top:top + side, left:left + side, :3]


def feature(image: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] on white -> unit vector [3 * 32 * 32]."""
    from PIL import Image, ImageFilter

    crop = Image.fromarray(np.ascontiguousarray(ink_square(image)))
    small = crop.resize((SIDE, SIDE), Image.BOX).filter(ImageFilter.GaussianBlur(1))
    f = np.asarray(small, np.float32).ravel() / 255.0
    f = f - f.mean()
    return f / (np.linalg.norm(f) + 1e-8)


@dataclass
class RetrievalJudge:
    """Gallery features [C, D] of concepts `names`; each concept's distractors fixed by `seed`."""

    names: list[str]
    gallery: np.ndarray
    distractors: dict[str, np.ndarray]

    @classmethod
    def build(cls, drawings: dict[str, np.ndarray], seed: int = 0, k: int = DISTRACTORS) -> "RetrievalJudge":
        """drawings: concept name -> uint8 [H, W, 3] drawing on white (at least k + 1 of them)."""
        names = list(drawings)
        if len(names) <= k:
            raise ValueError(f"the judge needs more than {k} concepts, got {len(names)}")
        gallery = np.stack([feature(drawings[n]) for n in names])
        rng = random.Random(seed)
        distractors = {}
        for i, n in enumerate(names):
            others = [j for j in range(len(names)) if j != i]
            distractors[n] = np.array(rng.sample(others, k))
        return cls(names, gallery, distractors)

    def scores(self, image: np.ndarray, name: str) -> tuple[float, float]:
        """(likeness to `name`'s drawing, best likeness to one of its distractors)."""
        f = feature(image)
        i = self.names.index(name)
        sims = self.gallery @ f  # [C]
        return float(sims[i]), float(sims[self.distractors[name]].max())

    def recognised(self, image: np.ndarray, name: str) -> bool:
        own, best_other = self.scores(image, name)
        return own > best_other
