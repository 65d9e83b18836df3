"""Vectorise a raster into a few flat shapes, the start of every image-based SVG task and of text-to-SVG's
prior start: find the flat colours (k-means on pixels away from edges), label an up-sampled copy of the image
with them, keep each large enough connected region as one shape (holes that show the background stay holes),
and fit each outline with few cubic segments, sharp at corners (``curve_fit``). See docs/svg.md."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import UserError
from .curve_fit import fit_closed_curve
from .svg import SVGConfig, SVGGenerator


@dataclass
class Vectorised:
    # per shape: contours [3 S, 2] in canvas units (outline pieces, longest first, then holes; filled even-odd)
    outlines: list[list[np.ndarray]]
    fills: np.ndarray  # [N, 4] straight RGBA
    background: np.ndarray  # [3]
    colours: int = 0  # flat colours found (1: the image is one flat colour)


SOFT_CORNER = 25.0  # degrees: a turn that counts as a corner between straight sides in a decoded estimate


FLAT_NEIGHBOURS = 0.45  # share of pixels equal (within 6/255) to all 8 neighbours ...
FLAT_PALETTE = 0.8  # ... and share of pixels in the 12 commonest colours (32 levels a channel), for flat art


def is_flat_art(image: np.ndarray) -> bool:
    """uint8 [H, W, 3] -> whether the picture is flat colour art (an icon, a logo) that a few shapes represent, not
    a photograph. Both tests are needed: a photo of a rocket against a clear sky is flat around most pixels but
    spread over many colours; a deep-sky photo is mostly one black but grainy. On real icons at 64 px (OpenMoji,
    Twemoji, Font Awesome) the two shares were >= 0.54 and >= 0.84; each of scikit-image's photographs fell short
    of at least one bar, at 64 px and at 256 (docs/svg.md, "Raster edits of flat art")."""
    a = image.astype(np.int16)
    h, w = a.shape[:2]
    padded = np.pad(a, ((1, 1), (1, 1), (0, 0)), mode="edge")
    same = np.ones((h, w), dtype=bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            same &= np.abs(padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] - a).max(axis=-1) <= 6
    q = a // 8  # [H, W, 3]: 32 levels a channel
    _, counts = np.unique(q[..., 0] * 1024 + q[..., 1] * 32 + q[..., 2], return_counts=True)
    palette = np.sort(counts)[::-1][:12].sum() / (h * w)
    return bool(same.mean() >= FLAT_NEIGHBOURS and palette >= FLAT_PALETTE)


def kmeans_colours(pixels: np.ndarray, k: int, iters: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """pixels [P, 3] in [0, 1] -> (labels [P], centres [k', 3]); farthest-point start, empty clusters dropped."""
    rng = np.random.default_rng(seed)
    k = max(1, min(k, len(np.unique(pixels.round(3), axis=0))))
    centres = [pixels[rng.integers(len(pixels))]]
    for _ in range(k - 1):  # farthest point: small flat colours are not lost to a big background
        d = np.min([((pixels - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(pixels[int(d.argmax())])
    centres = np.stack(centres)
    for _ in range(iters):
        labels = ((pixels[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        keep = [j for j in range(len(centres)) if (labels == j).any()]
        centres = np.stack([pixels[labels == j].mean(0) for j in keep])
    labels = ((pixels[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    return labels, centres


def _mixture_distance(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Distance [P] of each pixel from the nearest blend of two palette colours (or a palette colour itself):
    anti-aliased edges are such blends, a colour of its own is far from all of them."""
    d = np.sqrt(((pixels[:, None] - palette[None]) ** 2).sum(-1)).min(1)  # [P]
    for a in range(len(palette)):
        for b in range(a + 1, len(palette)):
            ab = palette[b] - palette[a]
            t = np.clip(((pixels - palette[a]) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
            d = np.minimum(d, np.linalg.norm(pixels - (palette[a] + t[:, None] * ab), axis=1))
    return d


def _merge(centres: np.ndarray, counts: np.ndarray, merge: float, min_count: float,
           palette: list, weight: list) -> None:
    """Add centres (largest first) to palette, folding each into a near-identical one already there."""
    for j in np.argsort(-counts):
        if counts[j] < min_count:
            continue
        near = [m for m, c in enumerate(palette) if np.linalg.norm(c - centres[j]) < merge]
        if near:
            m = near[0]
            palette[m] = (palette[m] * weight[m] + centres[j] * counts[j]) / (weight[m] + counts[j])
            weight[m] += counts[j]
        else:
            palette.append(centres[j].copy())
            weight.append(counts[j])


def flat_palette(img: np.ndarray, max_colours: int, merge: float = 0.12, min_share: float = 0.002) -> np.ndarray:
    """The flat colours [K, 3] of an image [H, W, 3] in [0, 1]. First from pixels whose 3x3 neighbourhood is
    nearly uniform (edges mix colours and would add false ones); then from what those colours leave unexplained,
    neither one of them nor a blend of two (thin shapes, a 3 px ring, have no uniform neighbourhood)."""
    from scipy.ndimage import maximum_filter, minimum_filter

    pixels = img.reshape(-1, 3)
    min_count = min_share * len(pixels)
    spread = (maximum_filter(img, size=(3, 3, 1)) - minimum_filter(img, size=(3, 3, 1))).max(-1)  # [H, W]
    core = img[spread < 0.1]
    if len(core) < 0.05 * spread.size:
        core = pixels
    labels, centres = kmeans_colours(core, max_colours)
    palette: list = []
    weight: list = []
    _merge(centres, np.bincount(labels, minlength=len(centres)).astype(np.float64), merge, min_count, palette, weight)
    if not palette:
        return centres[:1]
    while len(palette) < max_colours:  # one colour at a time: each new one explains its own blends
        far = _mixture_distance(pixels, np.stack(palette))
        rest = far > merge
        if rest.sum() < min_count:
            break
        purest = pixels[far >= np.quantile(far[rest], 0.8)]  # the most saturated of what is unexplained
        colour = purest.mean(0)
        if min(np.linalg.norm(c - colour) for c in palette) < merge:
            break
        palette.append(colour)
        weight.append(float(rest.sum()))
    return np.stack(palette)


def label_upsampled(img: np.ndarray, palette: np.ndarray, up: int) -> np.ndarray:
    """Nearest palette colour of each pixel of a bicubic x``up`` copy, majority-smoothed over about one source
    pixel so that the colour mixtures along edges do not become slivers of a third colour. -> int [uH, uW]."""
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float()  # [1, 3, H, W]
    big = F.interpolate(x, scale_factor=up, mode="bicubic", align_corners=False)[0].permute(1, 2, 0)  # [uH, uW, 3]
    pal = torch.from_numpy(palette).float()
    nearest = ((big[:, :, None] - pal) ** 2).sum(-1).argmin(-1)  # [uH, uW]
    votes = F.one_hot(nearest, len(palette)).permute(2, 0, 1)[None].float()  # [1, K, uH, uW]
    k = up + 1 if up % 2 == 0 else up
    votes = F.avg_pool2d(votes, k, stride=1, padding=k // 2, count_include_pad=False)
    return votes[0].argmax(0).numpy()


def border_label(labels: np.ndarray) -> int:
    frame = np.concatenate([labels[:2].ravel(), labels[-2:].ravel(), labels[:, :2].ravel(), labels[:, -2:].ravel()])
    return int(np.bincount(frame).argmax())


Place = tuple[tuple[int, int], tuple[int, int]]  # a box's top-left (row, col) in an up-sampled canvas, the canvas's
# (rows, cols)


def _lines(mask: np.ndarray, up: int, at: Place | None = None) -> list[np.ndarray]:
    """The 0.5-level lines of a lightly smoothed mask [h, w], longest first, in canvas units [M, 2] (x, y). ``at``:
    where the mask's box lies (default: the mask is the whole canvas). It is smoothed in its box plus the filter's
    reach, as the whole canvas would smooth it, without building the canvas."""
    from scipy.ndimage import gaussian_filter
    from skimage import measure

    (top, left), (rows, cols) = at or ((0, 0), mask.shape)
    sigma = max(0.5, up / 4)
    margin = int(np.ceil(4 * sigma)) + 3  # past the filter's reach
    y0, x0 = max(top - margin, 0), max(left - margin, 0)
    y1, x1 = min(top + mask.shape[0] + margin, rows), min(left + mask.shape[1] + margin, cols)
    crop = np.zeros((y1 - y0 + 4, x1 - x0 + 4), np.float32)  # 2 px of padding all round
    crop[top - y0 + 2:top - y0 + 2 + mask.shape[0], left - x0 + 2:left - x0 + 2 + mask.shape[1]] = mask
    lines = sorted(measure.find_contours(gaussian_filter(crop, sigma=sigma), 0.5), key=len, reverse=True)
    offset = np.array([x0, y0]) - 2.0 + 0.5  # (row, col) -> (x, y); the crop and the padding off
    return [(line[:, ::-1] + offset) / up for line in lines]


def _contour(mask: np.ndarray, up: int, at: Place | None = None) -> np.ndarray | None:
    """The longest 0.5-level line of a lightly smoothed mask [h, w] (placed ``at``), in canvas units [M, 2]."""
    lines = _lines(mask, up, at)
    return lines[0] if lines else None


def _pieces(mask: np.ndarray, up: int, min_area: float, at: Place | None = None) -> list[np.ndarray]:
    """The pieces of a filled mask's outline: its longest 0.5-level line after light smoothing, and every other line
    enclosing at least ``min_area`` source pixels. Smoothing cuts a region at a neck about a pixel wide (a
    mushroom's dark crescent where a spot pinches it), and the longest line alone drew one part and left the other
    to the shape below. (Where smoothing closes a gap a pixel wide into an interior line, that line becomes an
    even-odd hole: the inside is not this colour.)"""
    def area(line: np.ndarray) -> float:
        x, y = line[:, 0], line[:, 1]
        return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))

    lines = _lines(mask, up, at)
    return lines[:1] + [line for line in lines[1:] if area(line) >= min_area]


def _holes(enclosed: np.ndarray, background: np.ndarray, min_area: float) -> list[tuple[tuple[slice, slice],
                                                                                        np.ndarray]]:
    """Where a region's filled outline must be cut so the background shows, each as (its box in ``enclosed``
    [h, w], its mask there): each enclosed component of at least ``min_area`` that is mostly background, whole;
    and, inside one that is mostly other colours, its background islands of at least ``min_area``. (A bottle's
    white label sits in its outline's interior, which the brown body fills: painted over the outline's filled
    silhouette, the brown's own hole showed the outline's black, not the background.)"""
    from skimage import measure

    holes = measure.label(enclosed, connectivity=1)
    cut = []
    for h in measure.regionprops(holes):
        if h.area < min_area:
            continue
        if background[h.slice][h.image].mean() > 0.5:
            cut.append((h.slice, h.image))
            continue
        islands = measure.label(h.image & background[h.slice], connectivity=1)
        cut += [(h.slice, islands == i.label) for i in measure.regionprops(islands) if i.area >= min_area]
    return cut


def vectorise(image: np.ndarray, max_paths: int = 24, max_colours: int = 8, tolerance: float = 0.35,
              up: int = 4, min_area: float = 6.0, corner_angle: float = 40.0,
              soft_angle: float | None = None) -> Vectorised:
    """image uint8 or float [H, W, 3] -> a few shapes, largest first (painted first, so what lies inside
    another shape is drawn over it). ``min_area`` is in source pixels; ``tolerance`` in canvas units. Regions
    about a source pixel wide are dropped: they are the blends along an edge between two shapes."""
    from scipy.ndimage import binary_erosion, binary_fill_holes, find_objects
    from skimage import measure

    img = image.astype(np.float32) / (255.0 if image.dtype == np.uint8 else 1.0)
    palette = flat_palette(img, max_colours)
    labels = label_upsampled(img, palette, up)
    bg = border_label(labels)
    found = []
    for j in range(len(palette)):
        if j == bg:
            continue
        regions, count = measure.label(labels == j, connectivity=2, return_num=True)
        areas = np.bincount(regions.ravel(), minlength=count + 1)
        boxes = find_objects(regions)
        # Each region is examined inside its bounding box (outside it, it has no pixels: erosion, hole filling and
        # its holes come out the same), and only its box is kept until the largest are chosen: on the full
        # image, noise (thousands of regions) took minutes and gigabytes.
        for k in np.flatnonzero(areas[1:] >= min_area * up * up) + 1:
            box = boxes[k - 1]
            own = regions[box] == k
            if not binary_erosion(own, iterations=up // 2 + 1).any():  # a sliver about a pixel wide: an edge blend
                continue
            filled = binary_fill_holes(own)
            found.append((int(filled.sum()), j, box, filled, own))
    found.sort(key=lambda r: -r[0])
    outlines, fills = [], []
    for _, j, box, filled, own in found[:max_paths]:
        top, left = box[0].start, box[1].start
        cut = _holes(filled & ~own, labels[box] == bg, min_area * up * up)  # only for the shapes kept
        contours = _pieces(filled, up, min_area, ((top, left), labels.shape)) + [
            _contour(hole, up, ((top + sl[0].start, left + sl[1].start), labels.shape)) for sl, hole in cut]
        contours = [c for c in contours if c is not None and len(c) >= 4]
        if not contours:
            continue
        outlines.append([fit_closed_curve(c, tolerance, corner_angle, min_smooth_pieces=4, soft_angle=soft_angle)
                         for c in contours])
        fills.append(np.concatenate([palette[j], [1.0]]))
    fills_arr = np.stack(fills).astype(np.float32) if fills else np.zeros((0, 4), np.float32)
    return Vectorised(outlines, fills_arr, palette[bg].astype(np.float32), len(palette))


def outlines_to_tensors(v: Vectorised) -> tuple[list[list[Tensor]], Tensor]:
    return ([[torch.tensor(c, dtype=torch.float32) for c in shape] for shape in v.outlines],
            torch.tensor(v.fills, dtype=torch.float32))


def generator_from_image(image: Tensor, config: SVGConfig, what: str = "image", decoded: bool = False) -> SVGGenerator:
    """image [1, 3, H, W] in [-1, 1] -> a generator on an H x W canvas holding its flat shapes. ``decoded``: the
    image is the prior's own decoding at its working size, whose autoencoder rounds every corner, so corners
    rounded to ``SOFT_CORNER`` degrees count (a user's raster keeps the rounded corners it was drawn with)."""
    arr = ((image[0].detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).numpy()
    h, w = arr.shape[:2]
    v = vectorise(arr, config.num_paths, config.colours, config.fit_tolerance,
                  soft_angle=SOFT_CORNER if decoded else None)
    if not v.outlines and v.colours <= 1:
        raise UserError(f"{what}: no shapes found (the image is a single flat colour)")
    if not v.outlines:
        raise UserError(f"{what}: no shapes found: no region of one flat colour is large enough (6 px, more than a "
                        "pixel wide) to become a shape; noise and fine texture have none")
    outlines, fills = outlines_to_tensors(v)
    return SVGGenerator.from_outlines(outlines, fills, config, w, h, tuple(float(c) for c in v.background))
