"""``render``: scenes -> premultiplied RGBA images; differentiable, batched, same code on CPU and CUDA."""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from ...errors import UserError
from .composite import composite
from .limits import LIMITS, exceeded
from .bands import band_rows, paint_tensors, recomputed, with_tensors
from .coverage import coverage
from .flatten import Polylines, flatten, polyline_edges
from .scene import Scene, Shape, _t
from .stroke import _CAPS, _JOINS, stroke_polygons


def _check_finite(name: str, x: Tensor) -> None:
    if not torch.isfinite(x).all():
        raise UserError(f"SVG scene has non-finite (NaN or inf) values in {name}")


def _layers(scenes: list[Scene], H: int, W: int, dev: torch.device, dt: torch.dtype):
    """Flatten the scene structure into index tensors (Python loop over paths, no grad)."""
    pts, seg_idx, seg_deg, seg_sub, sub_closed, sub_owner = [], [], [], [], [], []
    shapes: list[tuple[int, Shape, float, float]] = []
    cursor = 0
    for b, sc in enumerate(scenes):
        if not (math.isfinite(float(sc.width)) and math.isfinite(float(sc.height)) and sc.width > 0 and sc.height > 0):
            raise UserError(f"SVG scene size must be positive and finite, got {sc.width} x {sc.height}")
        sx, sy = W / float(sc.width), H / float(sc.height)
        scale = torch.tensor([sx, sy], dtype=dt, device=dev)
        for sh in sc.shapes:
            owner = len(shapes)
            shapes.append((b, sh, sx, sy))
            for path in sh.paths:
                p = path.points
                if p.numel() == 0 or not path.degrees:  # a lone moveto draws nothing in SVG
                    continue
                need = path.num_points_needed()
                if p.shape[0] < need and path.degrees:
                    raise UserError(f"SVG path has {p.shape[0]} points but its segments need {need}")
                q = len(sub_closed)
                pts.append(p.to(dev, dt) * scale)
                c = cursor
                for d in path.degrees:
                    idx = [c + j for j in range(d + 1)]
                    if path.closed and idx[-1] == cursor + p.shape[0]:
                        idx[-1] = cursor
                    idx += [idx[-1]] * (4 - len(idx))
                    seg_idx.append(idx); seg_deg.append(d); seg_sub.append(q)
                    c += d
                if not path.closed or not path.degrees:
                    seg_idx.append([c] * 4); seg_deg.append(0); seg_sub.append(q)
                sub_closed.append(bool(path.closed and path.degrees))
                sub_owner.append(owner)
                cursor += p.shape[0]
    return pts, seg_idx, seg_deg, seg_sub, sub_closed, sub_owner, shapes


def _strokes(lines: Polylines, shapes: list[tuple[int, Shape, float, float]], stroke_l: Tensor, tol: float,
             dev: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """Stroke outline edges [E, 4] in pixels and their layer [E]. Each subpath is stroked in its pen space
    (pixels / sqrt(sx sy), or the shape's stroke_transform), where the pen is round, then mapped back."""
    widths = [sh.stroke_width for _, sh, _, _ in shapes]
    if all(isinstance(w, (int, float)) for w in widths):
        hw_shape = torch.tensor(widths, dtype=dtype, device=dev) * 0.5
    else:
        hw_shape = torch.stack([_t(w).to(dev, dtype).reshape(()) for w in widths]) * 0.5
    cap = [_CAPS.get(sh.linecap, 0) for _, sh, _, _ in shapes]
    join = [_JOINS.get(sh.linejoin, 0) for _, sh, _, _ in shapes]
    mlim = [sh.miterlimit for _, sh, _, _ in shapes]
    k = torch.tensor([math.sqrt(sx * sy) for _, _, sx, sy in shapes], dtype=dtype, device=dev)
    pens = k[:, None, None] * torch.eye(2, dtype=dtype, device=dev)  # [N, 2, 2] pen space -> pixels
    special = [i for i, (_, sh, _, _) in enumerate(shapes) if sh.stroke_transform is not None]
    if special:
        mats = torch.stack([torch.diag(torch.tensor([shapes[i][2], shapes[i][3]], dtype=dtype, device=dev))
                            @ shapes[i][1].stroke_transform.to(dev, dtype) for i in special])
        pens = pens.index_put((torch.tensor(special, device=dev),), mats)
    own = lines.owner
    hw = hw_shape[own]  # [Q]
    _check_finite("stroke widths", hw)
    hw = hw.clamp(min=0)
    _check_finite("stroke transforms", pens)
    if torch.linalg.det(pens.detach()).abs().min() < 1e-12:
        raise UserError("a stroke transform is singular (zero scale)")
    sub = torch.repeat_interleave(torch.arange(len(own), device=dev), lines.count)  # [V]
    inv_v = torch.linalg.inv(pens)[own[sub]]  # [V, 2, 2] pixels -> pen space
    local = Polylines(torch.einsum("vij,vj->vi", inv_v, lines.verts), lines.start, lines.count, lines.closed, own)
    tol_q = tol / torch.linalg.matrix_norm(pens.detach(), ord=2)[own]  # chord tolerance in pen units
    se, ssub = stroke_polygons(local, hw, torch.tensor(cap, device=dev)[own], torch.tensor(join, device=dev)[own],
                               torch.tensor(mlim, dtype=dtype, device=dev)[own], tol_q)
    pe = pens[own[ssub]]  # [E, 2, 2]
    se = torch.cat([torch.einsum("eij,ej->ei", pe, se[:, :2]), torch.einsum("eij,ej->ei", pe, se[:, 2:])], 1)
    sl = stroke_l[own[ssub]]
    return se[sl >= 0], sl[sl >= 0]


def render(scenes: Scene | list[Scene], width: int, height: int | None = None, samples: int = 1,
           tol: float = 0.1, device: torch.device | str | None = None,
           dtype: torch.dtype = torch.float32, band_work: int | None = None) -> Tensor:
    """Rasterise to premultiplied RGBA [H, W, 4] (or [B, H, W, 4] for a list) with exact box-filtered
    coverage per layer; ``samples`` > 1 renders samples x samples subpixels per pixel and averages them.
    ``band_work``: edge pieces per band of rows (default bands.BAND_WORK); a smaller budget bounds the working
    memory tighter at a cost in speed (docs/svg.md, "The rasteriser's memory")."""
    single = isinstance(scenes, Scene)
    lst = [scenes] if single else list(scenes)
    if height is None:
        height = width
    if width < 1 or height < 1:
        raise UserError(f"render size must be positive, got {width}x{height}")
    if int(width) * int(height) * samples * samples > LIMITS.max_pixels:
        raise exceeded(f"rendered pixels ({width}x{height}, {samples}x{samples} samples)",
                       int(width) * int(height) * samples * samples, "max_pixels")
    if device is None:
        device = next((p.points.device for s in lst for sh in s.shapes for p in sh.paths), torch.device("cpu"))
    dev = torch.device(device)
    H, W = int(height) * samples, int(width) * samples  # the subpixel grid
    pts, seg_idx, seg_deg, seg_sub, sub_closed, sub_owner, shapes = _layers(lst, H, W, dev, dtype)
    if len(seg_idx) > LIMITS.max_segments:
        raise exceeded("path segments to render", len(seg_idx), "max_segments")
    # Layers: fill then stroke of each shape, in painting order, grouped by scene.
    fill_layer, stroke_layer, paints, opac, evenodd, layer_scene = [], [], [], [], [], []
    for b, sh, sx, sy in shapes:
        op = sh.opacity
        fl = sl = -1
        if sh.fill is not None:
            fl = len(paints); paints.append(sh.fill); opac.append(op)
            evenodd.append(sh.fill_rule == "evenodd"); layer_scene.append(b)
        if sh.stroke is not None:
            sl = len(paints); paints.append(sh.stroke); opac.append(op)
            evenodd.append(False); layer_scene.append(b)
        fill_layer.append(fl); stroke_layer.append(sl)
    L = len(paints)
    if L == 0 or not pts:
        out = torch.zeros(len(lst), int(height), int(width), 4, device=dev, dtype=dtype)
        return out[0] if single else out
    longt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
    points = torch.cat(pts)
    _check_finite("path points", points)
    lines = flatten(points, longt(seg_idx), longt(seg_deg), longt(seg_sub),
                    torch.tensor(sub_closed, device=dev), longt(sub_owner), tol)
    fill_l, stroke_l = longt(fill_layer), longt(stroke_layer)
    edge_parts, layer_parts = [], []
    if int(lines.verts.shape[0]) > LIMITS.max_edges:
        raise exceeded("edges after flattening curves", int(lines.verts.shape[0]), "max_edges")
    fe, fsub = polyline_edges(lines)
    fl = fill_l[lines.owner[fsub]]
    edge_parts.append(fe[fl >= 0]); layer_parts.append(fl[fl >= 0])
    has_stroke = stroke_l[lines.owner] >= 0  # [Q]
    if has_stroke.any():
        se, sl = _strokes(lines, shapes, stroke_l, tol, dev, dtype)
        edge_parts.append(se); layer_parts.append(sl)
    edges = torch.cat(edge_parts)
    edge_layer = torch.cat(layer_parts)
    scale = torch.tensor([[W / float(sc.width), H / float(sc.height)] for sc in lst], dtype=dtype, device=dev)
    if all(isinstance(o, (int, float)) for o in opac):
        opacity = torch.tensor(opac, dtype=dtype, device=dev)
    else:
        opacity = torch.stack([_t(o).to(dev, dtype).reshape(()) for o in opac])
    fill_rule, owner = torch.tensor(evenodd, device=dev), torch.tensor(layer_scene, device=dev)
    B, w = len(lst), int(width)

    def band(r0: int, r1: int, edges: Tensor, opacity: Tensor, *colours: Tensor) -> Tensor:
        """Rows r0..r1 of the subpixel grid -> [B, (r1 - r0) / samples, width, 4], from the edges crossing them
        (shifted up by r0)."""
        e, el = edges, edge_layer
        if (r0, r1) != (0, H):
            with torch.no_grad():
                ylo, yhi = torch.minimum(edges[:, 1], edges[:, 3]), torch.maximum(edges[:, 1], edges[:, 3])
                crossing = ((yhi > r0) & (ylo < r1)).nonzero().squeeze(1)
            e = edges.index_select(0, crossing) - edges.new_tensor([0.0, r0, 0.0, r0])
            el = edge_layer[crossing]
        cov = coverage(e, el, fill_rule, r1 - r0, W)
        img = composite(cov, with_tensors(paints, list(colours)), opacity, owner, B, scale, row0=r0)
        if samples > 1:
            img = img.view(B, (r1 - r0) // samples, samples, w, samples, 4).mean((2, 4))
        return img  # [B, (r1 - r0) / samples, w, 4]

    bands = band_rows(edges.detach(), H, W, samples, band_work)
    colours = paint_tensors(paints)
    if len(bands) == 1:
        img = band(0, H, edges, opacity, *colours)
    elif torch.is_grad_enabled():  # one band's intermediates at a time, in forward and (recomputed) in backward
        img = torch.cat([recomputed(functools.partial(band, r0, r1), edges, opacity, *colours)
                         for r0, r1 in bands], 1)
    else:  # written in place: no second full-size copy
        img = torch.empty(B, int(height), w, 4, device=dev, dtype=dtype)
        for r0, r1 in bands:
            img[:, r0 // samples: r1 // samples] = band(r0, r1, edges, opacity, *colours)
    return img[0] if single else img


def to_straight(img: Tensor) -> Tensor:
    """Premultiplied -> straight alpha (for saving PNGs)."""
    a = img[..., 3:4]
    return torch.cat([torch.where(a > 0, img[..., :3] / a.clamp(min=1e-12), torch.zeros_like(img[..., :3])), a], -1)


def over(img: Tensor, background: Tensor | float = 1.0) -> Tensor:
    """Premultiplied RGBA over an opaque background colour -> RGB [..., 3]."""
    return img[..., :3] + (1 - img[..., 3:4]) * background
