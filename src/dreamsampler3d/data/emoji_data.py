"""Training images of everyday concepts: each open-set drawing rendered at 64 px, with captions people type.

Colour sets give "colour emoji" drawings, Fluent's high-contrast set the black-and-white "line icon" style. Every drawing is
rendered full frame and once more smaller at a seeded offset, so the prior sees the thing and not one placement.
Captions vary the name (CLDR name, shortcodes, rare keywords, the plural), the wording ("a rocket", "rocket",
"a rocket emoji", "a red rocket icon") and the style words; a set of them is drawn per image, once, by seed.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .concepts import Concept, build_concepts
from .icon_sets import SETS, IconifySet
from .icons import COLOURS, SIZE

STYLE = {"fluent": "colour", "twemoji": "colour", "emojione": "colour", "fxemoji": "colour",
         "fluent-mono": "line"}
PLURAL_GROUPS = ("animals and nature", "food and drink", "travel and places", "activities", "objects")
TRAIN_SETS = tuple(k for k in STYLE if SETS[k].role == "train")
CAPTIONS_PER_IMAGE = 12

_COLOUR_TEMPLATES = ("{a} {n}", "{n}", "{a} {n} emoji", "{a} {n} icon", "{n} emoji", "{n} icon",
                     "an emoji of {a} {n}", "{p}", "{a} {n}, colour emoji", "a colourful {n} icon",
                     "{a} {n} on a white background")
_TINT_TEMPLATES = ("{ac} {c} {n}", "{ac} {c} {n} icon", "{ac} {c} {n} emoji")
_LINE_TEMPLATES = ("{a} {n} line icon", "a black and white {n} icon", "{a} {n} icon, black outline",
                   "a monochrome {n} icon", "{a} {n} outline", "{n} line icon", "{p}, black and white")


@dataclass
class Drawing:
    concept: int  # index into the concept list
    set_key: str
    image: np.ndarray  # uint8 [64, 64, 3], on white


def _article(word: str) -> str:
    import inflect

    return inflect.engine().a(word).split(" ", 1)[0]


def with_article(name: str) -> str:
    """'rocket' -> 'a rocket', 'umbrella' -> 'an umbrella': the prompt a person types for a concept."""
    return f"{_article(name)} {name}"


def _plural(name: str) -> str:
    import inflect

    return inflect.engine().plural_noun(name) or name


def render_icon(svg: str, size: int = SIZE, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """cairosvg render composited on white: uint8 [size, size, 3]. `scale` < 1 shrinks the drawing about the
    centre and `offset` (fractions of the side) moves it."""
    import cairosvg
    from PIL import Image

    inner = max(1, round(size * scale))
    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=inner, output_height=inner)
    icon = Image.open(io.BytesIO(png)).convert("RGBA")
    canvas = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    x = round((size - inner) / 2 + offset[0] * size)
    y = round((size - inner) / 2 + offset[1] * size)
    canvas.alpha_composite(icon, (min(max(x, 0), size - inner), min(max(y, 0), size - inner)))
    return np.asarray(canvas.convert("RGB"))


def dominant_colour(image: np.ndarray) -> str | None:
    """The named colour (icons.COLOURS) of most ink pixels, when at least half the ink is near it."""
    ink = image.reshape(-1, 3).astype(np.int32)
    ink = ink[(ink < 235).any(1)]
    if len(ink) < 40:
        return None
    names = [c for c in COLOURS if c != "white"]
    ref = np.array([COLOURS[c] for c in names])  # [C, 3]
    d = ((ink[:, None, :] - ref[None]) ** 2).sum(-1)  # [P, C]
    near = d.min(1) < 70 ** 2
    counts = np.bincount(d.argmin(1)[near], minlength=len(names))
    best = int(counts.argmax())
    return names[best] if counts[best] >= 0.5 * len(ink) else None


def captions_for(concept: Concept, style: str, colour: str | None, rng: random.Random,
                 k: int = CAPTIONS_PER_IMAGE) -> list[str]:
    """k captions of one drawing: the main name most often, aliases and the plural sometimes."""
    out = []
    for _ in range(k):
        n = concept.name if (not concept.aliases or rng.random() < 0.6) else rng.choice(concept.aliases)
        plural = _plural(n) if concept.group in PLURAL_GROUPS and not n.endswith("s") else n
        fill = {"n": n, "a": _article(n), "p": plural}
        if style == "line":
            template = rng.choice(_LINE_TEMPLATES)
        elif colour is not None and rng.random() < 0.25:
            template = rng.choice(_TINT_TEMPLATES)
            fill.update(c=colour, ac=_article(colour))
        else:
            template = rng.choice(_COLOUR_TEMPLATES)
        out.append(template.format(**fill))
    return [" ".join(c.split()) for c in out]


def concept_drawings(concepts: list[Concept], sets: dict[str, IconifySet], seed: int,
                     variants: int = 2) -> tuple[list[Drawing], list[list[str]]]:
    """Every training drawing of every concept (full frame, then `variants - 1` smaller, shifted copies) with
    its captions; fixed by the seed."""
    rng = random.Random(seed)
    drawings, captions = [], []
    for ci, c in enumerate(concepts):
        for key in TRAIN_SETS:
            if key not in c.icons:
                continue
            svg = sets[key].svg(c.icons[key])
            for v in range(variants):
                scale = 1.0 if v == 0 else rng.uniform(0.6, 0.85)
                off = (0.0, 0.0) if v == 0 else (rng.uniform(-0.1, 0.1), rng.uniform(-0.1, 0.1))
                img = render_icon(svg, SIZE, scale, off)
                colour = dominant_colour(img) if STYLE[key] == "colour" else None
                drawings.append(Drawing(ci, key, img))
                captions.append(captions_for(c, STYLE[key], colour, rng))
    return drawings, captions


def load_training_concepts(cache: Path | None = None) -> tuple[list[Concept], dict[str, IconifySet]]:
    concepts = build_concepts(cache)
    return concepts, {k: IconifySet.load(k, cache) for k in TRAIN_SETS}
