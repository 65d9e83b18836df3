"""Automatic judge of icon images against their description: colour, shape and position.

Why this design: icons are flat and their colours far apart, so each pixel is labelled with its
nearest named colour; an object is the largest connected blob of its asked colour, its position
the blob centroid's 3x3 grid cell, and its shape the nearest of per-shape mask templates made by
rendering the very same generator through the same pipeline (anti-aliasing included).
`validate_on_renders` measures the judge on ground-truth renders.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .icons import (COLOURS, POSITIONS, SHAPES, SIZE, IconObject, Scene, make_scene,
                    random_scene, render_scene)

NAMES = list(COLOURS)
RGB = np.array([COLOURS[n] for n in NAMES], np.float32)  # [K, 3]
TEMPLATE = 24  # side of the normalised mask a shape is compared on
MIN_AREA = 12  # pixels: smaller blobs count as "colour absent"


@dataclass
class Verdict:
    """Judgement of one asked-for object; `found_shape` is None when the colour is absent."""

    colour_ok: bool
    shape_ok: bool
    position_ok: bool | None  # None when no position was asked
    found_shape: str | None
    centroid: tuple[float, float] | None


def pixel_labels(img: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> int [H, W] index of the nearest named colour."""
    d = ((img[:, :, None, :].astype(np.float32) - RGB[None, None]) ** 2).sum(-1)  # [H, W, K]
    return d.argmin(-1)


def background_label(labels: np.ndarray) -> int:
    """Most common label on the 2-pixel frame (objects keep clear of the border)."""
    frame = np.concatenate([labels[:2].ravel(), labels[-2:].ravel(),
                            labels[:, :2].ravel(), labels[:, -2:].ravel()])
    return int(np.bincount(frame, minlength=len(NAMES)).argmax())


def largest_blob(mask: np.ndarray) -> np.ndarray:
    """Largest 4-connected component of a bool mask [H, W] (BFS; no scipy needed)."""
    seen = np.zeros_like(mask, bool)
    best: list[tuple[int, int]] = []
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        comp, q = [], deque([(y0, x0)])
        seen[y0, x0] = True
        while q:
            y, x = q.popleft()
            comp.append((y, x))
            for yy, xx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    q.append((yy, xx))
        if len(comp) > len(best):
            best = comp
    out = np.zeros_like(mask, bool)
    if best:
        ys, xs = zip(*best)
        out[list(ys), list(xs)] = True
    return out


def normalise(mask: np.ndarray) -> np.ndarray:
    """Crop to the bounding box, pad to a square (keeps aspect), resize to TEMPLATE^2 floats."""
    from PIL import Image

    ys, xs = np.nonzero(mask)
    crop = mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    s = max(crop.shape)
    sq = np.zeros((s, s), np.float32)
    oy, ox = (s - crop.shape[0]) // 2, (s - crop.shape[1]) // 2
    sq[oy:oy + crop.shape[0], ox:ox + crop.shape[1]] = crop
    im = Image.fromarray((sq * 255).astype(np.uint8)).resize((TEMPLATE, TEMPLATE), Image.BILINEAR)
    return np.asarray(im, np.float32) / 255.0


@lru_cache(maxsize=2)
def templates(size: str) -> np.ndarray:
    """[n_shapes, n_variants, T, T] masks of each shape rendered like the data, per size."""
    rng = random.Random(1234)
    out = []
    for shape in SHAPES:
        vs = []
        for k in range(6):
            colour = ("red", "blue", "green", "black", "yellow", "purple")[k]
            bg = "white" if colour != "white" else "black"
            if size == "large":
                scene = make_scene([(colour, shape, None)], bg, jitter_seed=k)
                scene.objects[0].r = rng.uniform(18, 22)
            else:
                pos = rng.choice(list(POSITIONS))
                scene = make_scene([(colour, shape, pos)], bg, jitter_seed=k)
            labels = pixel_labels(render_scene(scene))
            vs.append(normalise(largest_blob(labels == NAMES.index(colour))))
        out.append(np.stack(vs))
    return np.stack(out)


def classify_shape(blob: np.ndarray) -> str:
    """Nearest template (mean absolute difference, best variant) of a blob mask [H, W]."""
    size = "large" if blob.sum() > 400 else "small"
    m = normalise(blob)  # [T, T]
    d = np.abs(templates(size) - m).mean(axis=(2, 3)).min(axis=1)  # [n_shapes]
    return SHAPES[int(d.argmin())]


def cell_of(cx: float, cy: float) -> tuple[int, int]:
    """Pixel centroid -> (column, row) of the 3x3 grid (thirds of the image)."""
    return (min(2, int(cx * 3 / SIZE)), min(2, int(cy * 3 / SIZE)))


def judge_object(img: np.ndarray, colour: str, shape: str, position: str | None,
                 labels: np.ndarray | None = None) -> Verdict:
    """Is there a blob of `colour` with `shape` (at `position`) in uint8 image [H, W, 3]?"""
    labels = pixel_labels(img) if labels is None else labels
    blob = largest_blob(labels == NAMES.index(colour))
    if blob.sum() < MIN_AREA:
        return Verdict(False, False, False if position else None, None, None)
    ys, xs = np.nonzero(blob)
    cx, cy = float(xs.mean()), float(ys.mean())
    found = classify_shape(blob)
    pos_ok = None if position is None else cell_of(cx, cy) == POSITIONS[position]
    return Verdict(True, found == shape, pos_ok, found, (cx, cy))


def dominant_colour(img: np.ndarray, labels: np.ndarray | None = None) -> str:
    """Most frequent non-background named colour of the image."""
    labels = pixel_labels(img) if labels is None else labels
    counts = np.bincount(labels.ravel(), minlength=len(NAMES))
    counts[background_label(labels)] = 0
    return NAMES[int(counts.argmax())]


def judge_scene(img: np.ndarray, objects: list[tuple[str, str, str | None]]) -> list[Verdict]:
    """Verdicts for (colour, shape, position|None) triples; single objects must also dominate."""
    labels = pixel_labels(img)
    out = [judge_object(img, c, s, p, labels) for c, s, p in objects]
    if len(objects) == 1 and dominant_colour(img, labels) != objects[0][0]:
        out[0].colour_ok = False
    return out


def triples(scene: Scene) -> list[tuple[str, str, str | None]]:
    return [(o.colour, o.shape, o.position) for o in scene.objects]


def validate_on_renders(n: int = 300, seed: int = 7) -> dict[str, float]:
    """Judge accuracy on ground-truth renders of random scenes (objects of non-bg colours)."""
    rng = random.Random(seed)
    tot = {"colour": 0, "shape": 0, "position": 0}
    cnt = {"colour": 0, "shape": 0, "position": 0}
    for _ in range(n):
        scene = random_scene(rng)
        for o, v in zip(scene.objects, judge_scene(render_scene(scene), triples_true(scene))):
            tot["colour"] += v.colour_ok
            tot["shape"] += v.shape_ok
            cnt["colour"] += 1
            cnt["shape"] += 1
            if v.position_ok is not None:
                tot["position"] += v.position_ok
                cnt["position"] += 1
    return {k: tot[k] / max(cnt[k], 1) for k in tot}


def triples_true(scene: Scene) -> list[tuple[str, str, str | None]]:
    """Triples with the true grid cell of every small object (position named or not)."""
    out = []
    for o in scene.objects:
        pos = o.position or (_cell_name(o) if o.size == "small" else None)
        out.append((o.colour, o.shape, pos))
    return out


def _cell_name(o: IconObject) -> str:
    cell = cell_of(o.cx, o.cy)
    return next(k for k, v in POSITIONS.items() if v == cell)
