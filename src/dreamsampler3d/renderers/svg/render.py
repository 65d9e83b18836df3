"""``render``: scenes -> premultiplied RGBA images, differentiable, batched, same code on CPU and CUDA."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ...errors import UserError
from .composite import composite
from .coverage import coverage
from .flatten import flatten, polyline_edges
from .scene import Paint, Scene, Shape, _t
from .stroke import _CAPS, _JOINS, stroke_polygons


def _check_finite(name: str, x: Tensor) -> None:
    if not torch.isfinite(x).all():
        raise UserError(f"SVG scene has non-finite (NaN or inf) values in {name}")


def _paint_alpha_ok(p: Paint | None) -> bool:
    return p is not None


def _layers(scenes: list[Scene], H: int, W: int, dev: torch.device, dt: torch.dtype):
    """Flatten the scene structure into index tensors (Python loop over paths, no grad)."""
    pts, seg_idx, seg_deg, seg_sub, sub_closed, sub_owner = [], [], [], [], [], []
    shapes: list[tuple[int, Shape, float, float]] = []
    cursor = 0
    for b, sc in enumerate(scenes):
        sx, sy = W / float(sc.width), H / float(sc.height)
        scale = torch.tensor([sx, sy], dtype=dt, device=dev)
        for sh in sc.shapes:
            owner = len(shapes)
            shapes.append((b, sh, sx, sy))
            for path in sh.paths:
                p = path.points
                if p.numel() == 0:
                    continue
                _check_finite("path points", p)
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


def render(scenes: Scene | list[Scene], width: int, height: int | None = None, samples: int = 1,
           tol: float = 0.1, device: torch.device | str | None = None,
           dtype: torch.dtype = torch.float32) -> Tensor:
    """Rasterise to premultiplied RGBA [H, W, 4] (or [B, H, W, 4] for a list) with exact box-filtered
    coverage per layer; ``samples`` > 1 renders samples x samples subpixels per pixel and averages them."""
    single = isinstance(scenes, Scene)
    lst = [scenes] if single else list(scenes)
    if height is None:
        height = width
    if width < 1 or height < 1:
        raise UserError(f"render size must be positive, got {width}x{height}")
    if samples > 1:
        img = render(lst, width * samples, height * samples, 1, tol, device, dtype)  # [B, sH, sW, 4]
        img = F.avg_pool2d(img.permute(0, 3, 1, 2), samples).permute(0, 2, 3, 1)
        return img[0] if single else img
    if device is None:
        device = next((p.points.device for s in lst for sh in s.shapes for p in sh.paths), torch.device("cpu"))
    dev = torch.device(device)
    H, W = int(height), int(width)
    pts, seg_idx, seg_deg, seg_sub, sub_closed, sub_owner, shapes = _layers(lst, H, W, dev, dtype)
    # Layers: fill then stroke of each shape, in painting order, grouped by scene.
    fill_layer, stroke_layer, paints, opac, evenodd, layer_scene = [], [], [], [], [], []
    for b, sh, sx, sy in shapes:
        op = _t(sh.opacity).to(dev, dtype)
        fl = sl = -1
        if sh.fill is not None:
            fl = len(paints); paints.append(sh.fill); opac.append(op)
            evenodd.append(sh.fill_rule == "evenodd"); layer_scene.append(b)
        if sh.stroke is not None:
            sl = len(paints); paints.append(sh.stroke); opac.append(op)
            evenodd.append(False); layer_scene.append(b)
        fill_layer.append(fl); stroke_layer.append(sl)
    out = torch.zeros(len(lst), H, W, 4, device=dev, dtype=dtype)
    L = len(paints)
    if L == 0 or not pts:
        return out[0] if single else out
    longt = lambda x: torch.tensor(x, dtype=torch.long, device=dev)  # noqa: E731
    points = torch.cat(pts)
    lines = flatten(points, longt(seg_idx), longt(seg_deg), longt(seg_sub),
                    torch.tensor(sub_closed, device=dev), longt(sub_owner), tol)
    fill_l, stroke_l = longt(fill_layer), longt(stroke_layer)
    edge_parts, layer_parts = [], []
    fe, fsub = polyline_edges(lines)
    fl = fill_l[lines.owner[fsub]]
    edge_parts.append(fe[fl >= 0]); layer_parts.append(fl[fl >= 0])
    has_stroke = stroke_l[lines.owner] >= 0  # [Q]
    if has_stroke.any():
        hw_shape, cap, join, mlim = [], [], [], []
        for b, sh, sx, sy in shapes:
            hw_shape.append(_t(sh.stroke_width).to(dev, dtype) * (0.5 * math.sqrt(sx * sy)))
            cap.append(_CAPS.get(sh.linecap, 0)); join.append(_JOINS.get(sh.linejoin, 0)); mlim.append(sh.miterlimit)
        hw = torch.stack(hw_shape)[lines.owner]  # [Q]
        _check_finite("stroke widths", hw)
        hw = hw.clamp(min=0)
        own = lines.owner
        se, ssub = stroke_polygons(lines, hw, longt(cap)[own], longt(join)[own],
                                   torch.tensor(mlim, dtype=dtype, device=dev)[own], tol)
        sl = stroke_l[lines.owner[ssub]]
        edge_parts.append(se[sl >= 0]); layer_parts.append(sl[sl >= 0])
    edges = torch.cat(edge_parts)
    edge_layer = torch.cat(layer_parts)
    cov = coverage(edges, edge_layer, torch.tensor(evenodd, device=dev), H, W)
    scale = torch.tensor([[W / float(sc.width), H / float(sc.height)] for sc in lst], dtype=dtype, device=dev)
    img = composite(cov, paints, torch.stack(opac), torch.tensor(layer_scene, device=dev), len(lst), scale)
    return img[0] if single else img


def to_straight(img: Tensor) -> Tensor:
    """Premultiplied -> straight alpha (for saving PNGs)."""
    a = img[..., 3:4]
    return torch.cat([torch.where(a > 0, img[..., :3] / a.clamp(min=1e-12), torch.zeros_like(img[..., :3])), a], -1)


def over(img: Tensor, background: Tensor | float = 1.0) -> Tensor:
    """Premultiplied RGBA over an opaque background colour -> RGB [..., 3]."""
    return img[..., :3] + (1 - img[..., 3:4]) * background
