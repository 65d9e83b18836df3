"""Initialise SVG paths from a raster image by a simple colour-region vectorisation: quantise colours with
k-means, split each colour into connected regions, and fit one closed cubic path to each region's outline."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def kmeans_colours(pixels: np.ndarray, k: int, iters: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """pixels [P, 3] in [0, 1] -> (labels [P], centres [k', 3]); empty clusters are dropped."""
    rng = np.random.default_rng(seed)
    k = min(k, len(np.unique(pixels.round(3), axis=0)))
    centres = pixels[rng.choice(len(pixels), size=k, replace=False)]
    for _ in range(iters):
        labels = ((pixels[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.stack([pixels[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
    labels = ((pixels[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    return labels, centres


def closed_cubic_through(anchors: np.ndarray) -> np.ndarray:
    """Catmull-Rom through S anchors [S, 2] -> control points [3 S, 2] of a closed cubic path."""
    prev, nxt, nxt2 = np.roll(anchors, 1, 0), np.roll(anchors, -1, 0), np.roll(anchors, -2, 0)
    c1 = anchors + (nxt - prev) / 6.0
    c2 = nxt - (nxt2 - anchors) / 6.0
    return np.stack([anchors, c1, c2], 1).reshape(-1, 2)


def resample_closed(contour: np.ndarray, n: int) -> np.ndarray:
    """n points equally spaced by arc length along a closed polyline [M, 2]."""
    pts = np.concatenate([contour, contour[:1]])
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    targets = np.linspace(0.0, s[-1], n, endpoint=False)
    x = np.interp(targets, s, pts[:, 0])
    y = np.interp(targets, s, pts[:, 1])
    return np.stack([x, y], 1)


def regions_to_paths(image: np.ndarray, num_paths: int, segments: int, colours: int = 8,
                     min_area: float = 4.0) -> tuple[Tensor, Tensor, np.ndarray]:
    """image uint8 or float [H, W, 3] -> points [N, 3 S, 2] (pixel units), fills [N, 4], background RGB [3].

    The most common colour becomes the background; the largest other regions become paths, largest first
    (painted first), so small details sit on top.
    """
    from skimage import measure

    img = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    h, w, _ = img.shape
    labels, centres = kmeans_colours(img.reshape(-1, 3), colours)
    labels = labels.reshape(h, w)
    background = int(np.bincount(labels.ravel()).argmax())
    found = []
    for j in range(len(centres)):
        if j == background:
            continue
        regions = measure.label(labels == j, connectivity=1)
        for region in measure.regionprops(regions):
            if region.area >= min_area:
                found.append((region.area, j, regions == region.label))
    found.sort(key=lambda r: -r[0])
    points, fills = [], []
    for area, j, mask in found[:num_paths]:
        contours = measure.find_contours(np.pad(mask, 1).astype(np.float32), 0.5)
        contour = max(contours, key=len)[:, ::-1] - 1.0 + 0.5  # (row, col) -> (x, y) pixel centres
        anchors = resample_closed(contour, segments)
        points.append(closed_cubic_through(anchors))
        fills.append(np.concatenate([centres[j], [1.0]]))
    if not points:
        raise ValueError("no colour regions found in the image (a single flat colour?)")
    return (torch.tensor(np.stack(points), dtype=torch.float32), torch.tensor(np.stack(fills), dtype=torch.float32),
            centres[background])
