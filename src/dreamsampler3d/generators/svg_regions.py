"""Which shapes of an SVG an edited picture of it still shows, and in which colour.

An edit of an icon mostly keeps its geometry: "make the car blue" changes fills, "add a hat" adds shapes. So each
input shape's visible region is read in the edited picture: a region still painted in one colour keeps its exact
geometry (untouched when the colour is the same, recoloured otherwise); a region whose outline the edit moved
("make the circle a square") is redrawn from the picture, and so is whatever the picture shows that no kept shape
explains. See docs/svg.md."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from ..renderers.svg import Scene, Shape, render
from .svg import SVGGenerator


_SPECK = 12  # px: smaller than this, a shape vectorised from the estimate is noise


@dataclass
class EditPlan:
    """Source shapes kept exactly, source shapes kept with a new fill, source shapes whose place an edited shape
    takes (in their own layer), and edited shapes added on top."""

    kept: list[int] = field(default_factory=list)
    recoloured: dict[int, Tensor] = field(default_factory=dict)  # source shape -> RGB [3] in [0, 1]
    added: list[int] = field(default_factory=list)  # shapes of the vectorised edit
    replaced: dict[int, int] = field(default_factory=dict)  # source shape -> the edited shape drawn in its layer


def coverages(svg: SVGGenerator, width: int, height: int) -> Tensor:
    """Coverage [K, H, W] in [0, 1] of each shape alone (no background), rendered at width x height."""
    scene = svg.scene()
    out = []
    with torch.no_grad():
        for shape in scene.shapes[1:]:
            alone = Scene(scene.width, scene.height, [Shape(shape.paths, fill=torch.ones(4), fill_rule=shape.fill_rule)])
            out.append(render(alone, width, height)[..., 3])
    return torch.stack(out) if out else torch.zeros(0, height, width)


def visible(cover: Tensor) -> Tensor:
    """Where each shape is what one sees: covered by it and by no shape painted after it. [K, H, W] bool."""
    inside = cover > 0.5
    above = torch.zeros_like(inside[0])
    out = torch.zeros_like(inside)
    for k in range(inside.shape[0] - 1, -1, -1):
        out[k] = inside[k] & ~above
        above |= inside[k]
    return out


def _eroded(mask: np.ndarray) -> np.ndarray:
    """The mask without its one-pixel rim, where the picture blends into the neighbours."""
    from scipy.ndimage import binary_erosion

    return binary_erosion(mask)


def readable(mask: np.ndarray) -> bool:
    """Whether a region is wide enough for the picture to show its own colour: a quarter of it (and 4 px) lies
    off its rim. An icon's 2 px outline at the prior's 64 px is all rim, blended with what it borders."""
    return bool(_eroded(mask).sum() >= max(4, 0.25 * mask.sum()))


def _core(mask: np.ndarray) -> np.ndarray:
    """The mask without its rim, unless that is all of it."""
    return _eroded(mask) if readable(mask) else mask


def region_colour(picture: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The median colour [3] of picture [H, W, 3] in [0, 1] over the core of a boolean mask."""
    pixels = picture[_core(mask)]  # [N, 3]
    return np.median(pixels, axis=0) if len(pixels) else np.zeros(3)


def near(picture: np.ndarray, colour: np.ndarray, tolerance: float) -> np.ndarray:
    """Where picture [..., 3] lies within ``tolerance`` (per channel) of ``colour``. [...] bool"""
    return np.abs(picture - colour).max(axis=-1) <= tolerance


def share_near(picture: np.ndarray, mask: np.ndarray, colour: np.ndarray, tolerance: float) -> float:
    """The share of the mask's core whose colour lies within ``tolerance`` (per channel) of ``colour``."""
    pixels = picture[_core(mask)]  # [N, 3]
    return float(near(pixels, colour, tolerance).mean()) if len(pixels) else 0.0


def _attached(foreground: np.ndarray, region: np.ndarray) -> np.ndarray:
    """The connected parts of ``foreground`` [H, W] that touch the core of ``region``."""
    from scipy.ndimage import label

    blobs, _ = label(foreground)
    touching = np.unique(blobs[_core(region) & foreground])
    return np.isin(blobs, touching[touching > 0])


def reshaped(img: np.ndarray, ref: np.ndarray, painted: np.ndarray, region: np.ndarray, new: np.ndarray,
             old: np.ndarray, tolerance: float, band: int = 2, share: float = 0.08, least: int = 12) -> bool:
    """Whether the edit moved a region's outline (a circle asked to become a square): the picture [H, W, 3] paints
    the region's (new) colour beyond a ``band`` around it, connected to it, where neither the kept shapes
    (``painted``) nor the prior's reconstruction of the input (``ref``) do; or no longer paints it inside, where
    the reconstruction did. Against the reconstruction, not the exact input, because a small prior blurs and
    smears every outline alike: only what the edit moved counts."""
    from scipy.ndimage import binary_dilation, binary_erosion

    near_new = near(img, new, tolerance)  # [H, W]
    attached = _attached(near_new, region)  # [H, W] the picture's blobs of that colour on the region
    grown = (attached & ~binary_dilation(region, iterations=band) & ~near(painted, new, tolerance)
             & ~near(ref, new, tolerance))
    shrunk = binary_erosion(region, iterations=band) & ~near_new & near(ref, old, tolerance)
    return int(grown.sum() + shrunk.sum()) >= max(least, share * region.sum())


def place(region: np.ndarray) -> np.ndarray:
    """Where a shape is, holes included: a ring's place is its disc."""
    from scipy.ndimage import binary_fill_holes

    return binary_fill_holes(region)


def _places(seen: np.ndarray, shapes) -> np.ndarray:
    """The union [H, W] of the places of the given shapes (``seen`` [K, H, W])."""
    out = np.zeros(seen.shape[1:], bool)
    for k in shapes:
        out |= place(seen[k])
    return out


def silhouette_kept(img: np.ndarray, ref: np.ndarray, region: np.ndarray, back: np.ndarray,
                    tolerance: float) -> float:
    """IoU of the silhouette the picture [H, W, 3] shows at a region (what is not background, connected to it)
    with the one the prior's reconstruction of the input (``ref``) shows there. Colour-blind, so a shape both
    recoloured and reshaped (a red circle asked to become a green star) counts; meaningful for a shape standing
    alone on the background, where the silhouette is the shape's own."""
    ours = _attached(~near(img, back, tolerance), region)
    theirs = _attached(~near(ref, back, tolerance), region)
    return float((ours & theirs).sum() / max((ours | theirs).sum(), 1))


def isolated(cover: np.ndarray, k: int, gap: int = 2) -> bool:
    """Whether shape k stands alone: no other shape covers any pixel within ``gap`` px of it, however thinly
    (``cover`` [K, H, W]): the objects of a "circle beside a square" scene, not the abutting fills and 2 px
    outlines of an emoji."""
    from scipy.ndimage import binary_dilation

    mine = cover[k] > 0.5
    others = (np.delete(cover, k, axis=0) > 0.02).any(axis=0) if len(cover) > 1 else np.zeros_like(mine)
    return bool(mine.any() and not (binary_dilation(mine, iterations=gap) & others).any())


def outlined(cover: np.ndarray, k: int, gap: int = 2) -> bool:
    """Whether shapes painted after shape k cover most of its rim, or of the ``gap`` px around it (``cover``
    [K, H, W]): an emoji's fill under its outline (a stroke centred on the fill's edge, or drawn just outside it),
    whose border is the outline's; not a shape lying on a card (the card is painted before it)."""
    from scipy.ndimage import binary_dilation

    mine = cover[k] > 0.5
    above = (cover[k + 1:] > 0.5).any(axis=0) if k + 1 < len(cover) else np.zeros_like(mine)
    rim, ring = mine & ~_eroded(mine), binary_dilation(mine, iterations=gap) & ~mine
    return bool(mine.any() and max((rim & above).sum() / max(rim.sum(), 1), (ring & above).sum() / max(ring.sum(), 1))
                >= 0.5)


def as_picture(image: Tensor) -> np.ndarray:
    """[1, 3, H, W] in [-1, 1] -> [H, W, 3] in [0, 1]."""
    return ((image[0].detach().float().cpu().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def _settle_moved(plan: EditPlan, moved: dict[int, Tensor | None], masks: dict[int, np.ndarray],
                  seen: np.ndarray, removed: list[int] = (), lone: tuple[int, ...] = (), taken: float = 0.5,
                  hiding=lambda mask, below: False) -> None:
    """For each reshaped source shape (-> the fill it had been given), among the admitted edited shapes ``masks``
    lying mostly where it was, or covering most of that place (a heart drawn over a thin crescent), and not
    ``hiding`` a shape kept below its layer: the one covering most of it takes its layer (under the outlines drawn
    after it); the others go with it (pieces of a smeared estimate, admitted only because its place was open). With
    none covering half of it (``taken`` for a shape in ``lone``), it stays as it was. A ``removed`` shape (painted
    over) is taken the same way, and otherwise stays removed. Places count holes in (``place``). Updates ``plan``
    and ``masks``."""
    for k, fill in [*moved.items(), *((k, None) for k in removed)]:
        where = place(seen[k])
        takers = [j for j, m in masks.items() if (m & where).sum() >= 0.5 * min(m.sum(), where.sum())
                  and not hiding(m, k)]
        cover = {j: int((masks[j] & where).sum()) for j in takers}
        best = max(cover, key=cover.get) if cover else None
        if best is not None and cover[best] >= (taken if k in lone else 0.5) * where.sum():
            plan.replaced[k] = best
        elif k in removed:
            pass  # nothing took its place
        elif fill is None:
            plan.kept.append(k)
        else:
            plan.recoloured[k] = fill
        for j in takers:
            del masks[j]


def chroma(colour: np.ndarray) -> float:
    """max - min of an RGB colour [3] in [0, 1]: 0 for greys, 1 for a pure hue. A blend of two hues loses it."""
    return float(colour.max() - colour.min())


def same_hue(a: Tensor | np.ndarray, b: Tensor | np.ndarray, degrees: float = 25.0) -> Tensor:
    """[K, 3], [K, 3] in [0, 1] -> [K] bool: both are saturated colours (saturation > 0.3, value > 0.25) with hues
    within ``degrees``, so ``a`` is only another shade of ``b``: asked for "a blue circle", a blue circle keeps its
    own blue rather than taking the prior's; a thin yellow ring between black outlines, reconstructed olive, still
    shows that it is yellow."""
    def rows(x: Tensor | np.ndarray) -> list:
        return torch.as_tensor(x).detach().cpu().double().tolist()  # a CUDA tensor has no numpy view

    out = []
    for x, y in zip(rows(a), rows(b)):
        (h1, s1, v1), (h2, s2, v2) = colorsys.rgb_to_hsv(*x), colorsys.rgb_to_hsv(*y)
        apart = abs(h1 - h2) * 360
        out.append(min(s1, s2) > 0.3 and min(v1, v2) > 0.25 and min(apart, 360 - apart) <= degrees)
    return torch.tensor(out, dtype=torch.bool)


def silent(source: SVGGenerator, seen: np.ndarray, reference: np.ndarray | None, colour_tol: float) -> list[bool]:
    """For each source shape, whether a picture of the input at the prior's size holds no evidence about its colour:
    hidden (``seen`` [K, H, W], its visible region, is empty), too thin for the picture to show its colour
    (``readable``), or its colour already missed by more than twice ``colour_tol`` in the prior's own unedited
    reconstruction of the input (``reference`` [H, W, 3] in [0, 1]), and not as a shade of its own hue (a thin yellow
    ring between black outlines comes back olive: the picture still shows a yellow ring). An edit leaves such
    shapes as they came."""
    fills = source.fills[:, :3].detach().cpu().numpy()  # [K, 3]

    def missed(k: int) -> bool:
        shown = region_colour(reference, seen[k])  # [3]
        return bool(np.abs(shown - fills[k]).max() > 2 * colour_tol and not same_hue(shown[None], fills[k:k + 1])[0])

    return [bool(seen[k].sum() == 0 or not readable(seen[k]) or (reference is not None and missed(k)))
            for k in range(len(source.layout))]


def plan_edit(source: SVGGenerator, picture: Tensor, edited: SVGGenerator | None, colour_tol: float,
              erased: float = 0.7, unexplained: float = 0.6, min_share: float = 0.03,
              outside: float = 0.5, uniform: float = 0.5, reference: Tensor | None = None,
              fills: Tensor | None = None, half_way_chroma: float | None = None, silhouette_iou: float | None = 0.75,
              taken: float = 0.2, hides: float = 0.2) -> EditPlan:
    """Read the edit picture [1, 3, H, W] in [-1, 1] (the canvas's size) against the source's shapes.

    A region too thin for the picture to show its colour (``readable``), or one whose colour the prior's own
    unedited reconstruction of the input (``reference``, like ``picture``) already fails to show, is kept as it
    came: the picture holds no evidence about it (a fox's eyes at 64 px come back from the autoencoder in the
    fur's colour, and an edit then paints them anything). Any other source shape keeps its geometry unless
    ``erased`` of its visible region shows the background; its fill becomes the region's median colour when that
    differs by more than ``colour_tol`` and ``uniform`` of the region lies within ``colour_tol`` of it (the edit
    repainted it in one colour; a region the estimate only smeared keeps its fill). Edited shapes are added
    when ``unexplained`` of their pixels, and ``min_share`` of the canvas, differ from what the kept shapes
    paint, and ``outside`` of them lie on the input's background: an edit adds whole shapes beside the kept ones,
    never slivers along them nor blotches inside them (where a small prior's estimate is least sure), nor over
    more than ``hides`` (and a speck) of any shape the plan keeps or recolours (the picture shows that shape in
    place). With a ``reference``, a shape whose outline the edit moved (``reshaped``: a circle asked to become a
    square) leaves its place open, and the edited shape covering most of that place takes its layer, unless it
    would hide a kept shape below that layer; an outlined fill (``outlined``: an emoji's fill under its outline)
    keeps its geometry, as the outline does. A shape standing alone (``isolated``) that would take the
    background's colour is removed: it would be an invisible path. With ``fills`` [K, 3] (the colours a fills-only
    edit of the input gave its shapes, geometry frozen), a shape whose region the picture changed but only smeared
    is recoloured to its entry (when that differs by more than ``colour_tol``) instead of keeping its fill, and a
    shape is removed only when its entry is the background too; a region the picture repainted in one colour still
    takes that colour unless its entry, moved or not, is ``half_way_chroma`` more saturated (``chroma``: the picture
    stopped half-way, a red heart asked to be blue painted purple; or it washed out towards white a colour the
    fills-only edit kept, a timer's yellow ring painted pale pink; a red heart painted black is an edit), and what
    moved and what is added are read against the picture. A shape standing alone also counts as moved when its
    silhouette keeps less than ``silhouette_iou`` of the reconstruction's (``silhouette_kept``), and gives way to an
    edited shape covering ``taken`` of its place (others: half); a removed shape's place is open to what the edit
    drew there, at any size (docs/svg.md)."""
    h, w = picture.shape[-2:]
    img = as_picture(picture)  # [H, W, 3]
    ref = as_picture(reference) if reference is not None else None
    cover = coverages(source, w, h)  # [K, H, W]
    seen = visible(cover).cpu().numpy()  # [K, H, W]
    cover = cover.cpu().numpy()
    back = source.background.detach().cpu().numpy()
    plan = EditPlan()
    painted = np.broadcast_to(back, img.shape).copy()  # [H, W, 3] what the kept shapes paint, as the picture shows
    # them (where it smeared a shape: its old fill), the reference for what moved and what is new
    judged, removed = [], []  # shapes the picture holds evidence about; shapes it painted over
    shown: dict[int, np.ndarray] = {}  # judged shape -> the colour [3] the picture paints it
    for k, quiet in enumerate(silent(source, seen, ref, colour_tol)):
        old = source.fills[k, :3].detach().cpu().numpy()
        if quiet:
            plan.kept.append(k)  # hidden in the input too, or not shown by the prior: not the edit's business
            painted[seen[k]] = old
            continue
        given = fills[k, :3].detach().cpu().numpy() if fills is not None else None  # the fills-only edit's colour
        painted_over = share_near(img, seen[k], back, colour_tol) >= erased  # with the background
        if painted_over and (given is None or np.abs(given - back).max() <= colour_tol):
            removed.append(k)  # the fills-only edit, if any, painted it the background too
            continue
        judged.append(k)
        colour = region_colour(img, seen[k])
        left = np.abs(colour - old).max() <= colour_tol  # the picture left its colour
        smeared = painted_over or (not left and share_near(img, seen[k], colour, colour_tol) < uniform)
        shown[k] = painted[seen[k]] = old if left or smeared else colour  # the reference for what moved
        if smeared:
            colour = old if given is None else given  # the fills-only edit decides what the picture smeared
        elif (half_way_chroma is not None and given is not None
              and (not near(given, old, colour_tol) or colour.min() > old.min() + colour_tol)
              and chroma(given) >= chroma(colour) + half_way_chroma):
            colour = given  # the picture stopped half-way (a blend of the old colour and the new loses chroma), or
            # washed out (towards white) a colour the fills-only edit kept
        if left or np.abs(colour - old).max() <= colour_tol:
            plan.kept.append(k)
        elif near(colour, back, colour_tol) and isolated(cover, k):
            judged.pop()  # standing alone in the background's colour: removed, not left as an invisible path
            removed.append(k)
            painted[seen[k]] = back
        else:
            plan.recoloured[k] = torch.tensor(colour, dtype=torch.float32)
    if edited is None:
        return plan
    moved: dict[int, Tensor | None] = {}  # reshaped source shape -> its new fill (None: kept as it was)
    if ref is not None:
        for k in (k for k in judged if not outlined(cover, k)):  # an outlined fill keeps the border its outline
            # draws, as the outline does
            old = source.fills[k, :3].detach().cpu().numpy()
            if (reshaped(img, ref, painted, seen[k], shown[k], old, colour_tol)
                    or (silhouette_iou is not None and isolated(cover, k)
                        and silhouette_kept(img, ref, seen[k], back, colour_tol) < silhouette_iou)):
                moved[k] = plan.recoloured.pop(k, None)
                plan.kept = [i for i in plan.kept if i != k]
                painted[seen[k]] = back
    gone = _places(seen, [*moved, *removed])  # [H, W] where the removed and reshaped shapes were: open for what
    # the edit draws there
    differs = np.abs(painted - img).max(axis=2) > colour_tol  # [H, W]
    open_ground = ~seen.any(axis=0) | gone  # [H, W] the input's background, and where reshaped shapes were
    least = max(1, int(min_share * h * w))
    masks: dict[int, np.ndarray] = {}  # added shape -> its visible region [H, W]
    for j, mask in enumerate(visible(coverages(edited, w, h)).cpu().numpy()):
        n = int(mask.sum())
        floor = least if (gone & mask).sum() < 0.5 * n else min(least, _SPECK)  # what takes a shape's place
        # may be smaller than what the edit adds
        if (n >= floor and (differs & mask).sum() >= max(floor, unexplained * n)
                and (open_ground & mask).sum() >= outside * n):
            masks[j] = mask
    lone = tuple(k for k in [*moved, *removed] if isolated(cover, k))

    def hiding(mask: np.ndarray, below: int) -> bool:
        """Whether a shape drawn in layer ``below`` hides more than ``hides`` of a shape the plan shows in place
        under it (and more than a speck): the picture shows that shape there."""
        return any((mask & seen[i]).sum() > max(hides * seen[i].sum(), _SPECK)
                   for i in [*plan.kept, *plan.recoloured] if i < below)

    _settle_moved(plan, moved, masks, seen, removed, lone, taken, hiding)
    masks = {j: m for j, m in masks.items() if m.sum() >= least}
    # added shapes admitted only because a shape that stayed had left its place open go too
    open_ground = ~seen.any(axis=0) | _places(seen, [*plan.replaced, *removed])  # and where shapes were removed
    # or gave way
    plan.added = sorted(j for j, m in masks.items() if (open_ground & m).sum() >= outside * m.sum()
                        and not hiding(m, len(seen)))  # added on top of every shape
    plan.kept.sort()
    return plan
