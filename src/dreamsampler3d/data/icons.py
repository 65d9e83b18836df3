"""Seeded synthetic flat-icon scenes: description -> SVG -> caption -> 64x64 raster.

One scene description drives the SVG, the caption and the ground-truth layout, so captions
are true of the pixels by construction (the embedded prior is trained and judged on these).
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field

import numpy as np

SIZE = 64  # raster side in pixels; SVG uses the same user units

SHAPES: tuple[str, ...] = (
    "circle", "square", "triangle", "star", "heart",
    "ring", "cross", "crescent", "diamond", "hexagon",
)

# Named colours, far apart in RGB so a nearest-colour judge is unambiguous.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 20, 30),
    "orange": (255, 140, 0),
    "yellow": (255, 220, 0),
    "green": (30, 150, 50),
    "blue": (30, 70, 220),
    "cyan": (0, 200, 220),
    "purple": (130, 40, 180),
    "pink": (255, 120, 190),
    "brown": (120, 70, 20),
    "black": (20, 20, 20),
    "white": (245, 245, 245),
    "grey": (128, 128, 128),
}
BACKGROUNDS: tuple[str, ...] = ("white", "black", "grey")

# 3x3 layout grid: cell centre in pixels and the caption phrase for it.
GRID = (12.0, 32.0, 52.0)
POSITIONS: dict[str, tuple[int, int]] = {  # name -> (column, row)
    "top left": (0, 0), "top": (1, 0), "top right": (2, 0),
    "left": (0, 1), "centre": (1, 1), "right": (2, 1),
    "bottom left": (0, 2), "bottom": (1, 2), "bottom right": (2, 2),
}
POSITION_PHRASES: dict[str, str] = {
    "top left": "in the top left", "top": "at the top", "top right": "in the top right",
    "left": "on the left", "centre": "in the centre", "right": "on the right",
    "bottom left": "in the bottom left", "bottom": "at the bottom",
    "bottom right": "in the bottom right",
}
SMALL_R = (8.5, 9.5)  # radius range of small objects: fits one grid cell
LARGE_R = (18.0, 22.0)  # radius range of large (single, centred) objects


@dataclass
class IconObject:
    """One shape instance; `position` is None when the caption does not name it."""

    shape: str
    colour: str
    size: str  # "small" | "large"
    cx: float
    cy: float
    r: float
    position: str | None = None


@dataclass
class Scene:
    """A whole scene; `say_size`/`say_background` vary caption wording only."""

    background: str
    objects: list[IconObject] = field(default_factory=list)
    say_background: bool = True
    say_size: bool = True

    def caption(self) -> str:
        return scene_caption(self)

    def svg(self) -> str:
        return scene_svg(self)


# ---------------------------------------------------------------- geometry -> SVG

def _pts(points: list[tuple[float, float]], cx: float, cy: float, r: float) -> str:
    return " ".join(f"{cx + x * r:.2f},{cy + y * r:.2f}" for x, y in points)


def _star_points() -> list[tuple[float, float]]:
    out = []
    for k in range(10):
        rad = 1.0 if k % 2 == 0 else 0.42
        a = -math.pi / 2 + k * math.pi / 5
        out.append((rad * math.cos(a), rad * math.sin(a) + 0.1))
    return out


_POLYS: dict[str, list[tuple[float, float]]] = {
    "triangle": [(0.0, -0.95), (1.0, 0.8), (-1.0, 0.8)],
    "star": _star_points(),
    "diamond": [(0.0, -1.0), (0.72, 0.0), (0.0, 1.0), (-0.72, 0.0)],
    "hexagon": [(math.cos(k * math.pi / 3), math.sin(k * math.pi / 3)) for k in range(6)],
    "cross": [(-0.32, -1), (0.32, -1), (0.32, -0.32), (1, -0.32), (1, 0.32), (0.32, 0.32),
              (0.32, 1), (-0.32, 1), (-0.32, 0.32), (-1, 0.32), (-1, -0.32), (-0.32, -0.32)],
}


def shape_svg(shape: str, cx: float, cy: float, r: float, fill: str) -> str:
    """One SVG element for a shape of half-extent r centred at (cx, cy)."""
    if shape == "circle":
        return f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{r:.2f}" fill="{fill}"/>'
    if shape == "square":
        s = 0.85 * r
        return (f'<rect x="{cx - s:.2f}" y="{cy - s:.2f}" width="{2 * s:.2f}" '
                f'height="{2 * s:.2f}" fill="{fill}"/>')
    if shape == "ring":
        w = 0.38 * r
        return (f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{r - w / 2:.2f}" fill="none" '
                f'stroke="{fill}" stroke-width="{w:.2f}"/>')
    if shape == "heart":
        u = [(0, 0.9), (-0.1, 0.8), (-1, 0.25), (-1, -0.3), (-1, -0.85), (-0.3, -1.0),
             (0, -0.5), (0.3, -1.0), (1, -0.85), (1, -0.3), (1, 0.25), (0.1, 0.8), (0, 0.9)]
        p = [f"{cx + x * r:.2f} {cy + (y + 0.05) * r:.2f}" for x, y in u]
        d = f"M {p[0]} C {p[1]}, {p[2]}, {p[3]} C {p[4]}, {p[5]}, {p[6]} " \
            f"C {p[7]}, {p[8]}, {p[9]} C {p[10]}, {p[11]}, {p[12]} Z"
        return f'<path d="{d}" fill="{fill}"/>'
    if shape == "crescent":
        # disc of radius r minus the same disc shifted right by d; box centred on cx.
        d = 0.75 * r
        c = cx + (r - d / 2) / 2
        x0, h = c + d / 2, math.sqrt(r * r - d * d / 4)
        path = (f"M {x0:.2f} {cy - h:.2f} A {r:.2f} {r:.2f} 0 1 0 {x0:.2f} {cy + h:.2f} "
                f"A {r:.2f} {r:.2f} 0 0 1 {x0:.2f} {cy - h:.2f} Z")
        return f'<path d="{path}" fill="{fill}"/>'
    return f'<polygon points="{_pts(_POLYS[shape], cx, cy, r)}" fill="{fill}"/>'


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


def scene_svg(scene: Scene) -> str:
    """Standard SVG 1.1 text of the scene (primitives and paths only)."""
    body = [f'<rect x="0" y="0" width="{SIZE}" height="{SIZE}" '
            f'fill="{_hex(COLOURS[scene.background])}"/>']
    for o in scene.objects:
        body.append(shape_svg(o.shape, o.cx, o.cy, o.r, _hex(COLOURS[o.colour])))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
            f'viewBox="0 0 {SIZE} {SIZE}">' + "".join(body) + "</svg>")


# ---------------------------------------------------------------- caption

def object_phrase(o: IconObject, say_size: bool) -> str:
    words = ["a"]
    if say_size or o.size == "small":
        words.append(o.size)
    words += [o.colour, o.shape]
    if o.position is not None:
        words.append(POSITION_PHRASES[o.position])
    return " ".join(words)


def scene_caption(scene: Scene) -> str:
    """Caption generated from the same description as the SVG."""
    text = " and ".join(object_phrase(o, scene.say_size) for o in scene.objects)
    if scene.say_background:
        text += f" on a {scene.background} background"
    return text


# ---------------------------------------------------------------- sampling

def _small(rng: random.Random, shape: str, colour: str, pos: str, say_pos: bool) -> IconObject:
    col, row = POSITIONS[pos]
    return IconObject(shape, colour, "small", GRID[col] + rng.uniform(-1, 1),
                      GRID[row] + rng.uniform(-1, 1), rng.uniform(*SMALL_R),
                      pos if say_pos else None)


def random_scene(rng: random.Random) -> Scene:
    """Draw one scene: 35% one large object, 35% one small placed object, 30% two or three."""
    bg = rng.choice(BACKGROUNDS)
    palette = [c for c in COLOURS if c != bg]
    u = rng.random()
    scene = Scene(bg, say_background=rng.random() < 0.8, say_size=rng.random() < 0.5)
    if u < 0.35:
        r = rng.uniform(*LARGE_R)
        scene.objects.append(IconObject(rng.choice(SHAPES), rng.choice(palette), "large",
                                        32 + rng.uniform(-2, 2), 32 + rng.uniform(-2, 2), r))
        return scene
    n = 1 if u < 0.7 else (2 if u < 0.92 else 3)
    positions = rng.sample(list(POSITIONS), n)  # distinct cells 20 px apart: at most touching
    colours = rng.sample(palette, n)  # distinct colours keep objects separable
    say_pos = n > 1 or rng.random() < 0.9
    for pos, colour in zip(positions, colours):
        scene.objects.append(_small(rng, rng.choice(SHAPES), colour, pos, say_pos))
    scene.say_size = True
    return scene


def scene_from_seed(seed: int) -> Scene:
    return random_scene(random.Random(seed))


def make_scene(objects: list[tuple[str, str, str | None]], background: str = "white",
               size: str | None = None, jitter_seed: int = 0) -> Scene:
    """Build a scene from (colour, shape, position|None) triples, as benchmarks ask for them.

    One object without a position is large and centred unless `size` says small.
    """
    rng = random.Random(jitter_seed)
    scene = Scene(background)
    if len(objects) == 1 and objects[0][2] is None and size != "small":
        c, s, _ = objects[0]
        scene.objects.append(IconObject(s, c, "large", 32.0, 32.0, sum(LARGE_R) / 2))
        scene.say_size = size == "large"
        return scene
    for c, s, p in objects:
        scene.objects.append(_small(rng, s, c, p or "centre", p is not None))
    return scene


# ---------------------------------------------------------------- raster

def rasterize(svg: str, size: int = SIZE) -> np.ndarray:
    """SVG text -> uint8 RGB array [size, size, 3] through cairosvg."""
    import cairosvg
    from PIL import Image

    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=size, output_height=size)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def render_scene(scene: Scene, size: int = SIZE) -> np.ndarray:
    return rasterize(scene_svg(scene), size)
