"""Curves to polylines: every segment is raised to a cubic, then sampled uniformly with a per-segment count
chosen (without grad) so the chord error stays under ``tol`` pixels. Sampling is linear in the control
points, so gradients reach them exactly."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

# Rows: degree 0 (lone end point), 1 (line), 2 (quadratic), 3 (cubic); gathered points [P0, P1, P2, P3]
# where unused slots repeat the last real point. Each matrix maps them to cubic control points.
_ELEVATE = torch.tensor([
    [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]],
    [[1, 0, 0, 0], [2 / 3, 1 / 3, 0, 0], [1 / 3, 2 / 3, 0, 0], [0, 1, 0, 0]],
    [[1, 0, 0, 0], [1 / 3, 2 / 3, 0, 0], [0, 2 / 3, 1 / 3, 0], [0, 0, 1, 0]],
    [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
], dtype=torch.float64)


@dataclass
class Polylines:
    """Flattened subpaths, vertices of subpath q at ``verts[start[q] : start[q] + count[q]]``."""

    verts: Tensor  # [V, 2] pixels
    start: Tensor  # [Q] long
    count: Tensor  # [Q] long
    closed: Tensor  # [Q] bool
    owner: Tensor  # [Q] long, index of the shape each subpath belongs to


def flatten(points: Tensor, seg_idx: Tensor, seg_deg: Tensor, seg_sub: Tensor, sub_closed: Tensor,
            sub_owner: Tensor, tol: float = 0.1, max_pieces: int = 64) -> Polylines:
    """points [N, 2] pixels; seg_idx [S, 4] long into points; seg_deg [S] long (0..3); seg_sub [S] long
    (subpath of each segment, non-decreasing); sub_closed [Q] bool; sub_owner [Q] long."""
    elev = _ELEVATE.to(points.device, points.dtype)[seg_deg]  # [S, 4, 4]
    ctrl = elev @ points[seg_idx]  # [S, 4, 2]
    with torch.no_grad():
        dd = torch.maximum((ctrl[:, 0] - 2 * ctrl[:, 1] + ctrl[:, 2]).norm(dim=-1),
                           (ctrl[:, 1] - 2 * ctrl[:, 2] + ctrl[:, 3]).norm(dim=-1))  # [S]
        n = torch.sqrt(0.75 * dd / tol).ceil().nan_to_num(1.0).clamp(1, max_pieces).long()  # [S]
        seg_of = torch.repeat_interleave(torch.arange(len(n), device=points.device), n)  # [V]
        first = torch.cumsum(n, 0) - n
        t = ((torch.arange(len(seg_of), device=points.device) - first[seg_of]).to(points.dtype)
             / n[seg_of].to(points.dtype))  # [V]
        basis = torch.stack([(1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3], 1)  # [V, 4]
        q = len(sub_closed)
        count = torch.zeros(q, dtype=torch.long, device=points.device).index_add_(0, seg_sub, n)
        start = torch.cumsum(count, 0) - count
    verts = torch.einsum("vk,vkd->vd", basis, ctrl[seg_of])  # [V, 2]
    return Polylines(verts, start, count, sub_closed, sub_owner)


def polyline_edges(lines: Polylines) -> tuple[Tensor, Tensor]:
    """Closed-polygon edges of every subpath (fills close open subpaths): edges [E, 4] (x0, y0, x1, y1) and
    the subpath of each edge [E]."""
    v = lines.verts.shape[0]
    dev = lines.verts.device
    sub = torch.repeat_interleave(torch.arange(len(lines.count), device=dev), lines.count)  # [V]
    i = torch.arange(v, device=dev)
    nxt = i + 1
    last = lines.start + lines.count - 1  # [Q]
    is_last = i == last[sub]
    nxt = torch.where(is_last, lines.start[sub], nxt)
    edges = torch.cat([lines.verts, lines.verts[nxt]], 1)  # [V, 4]
    return edges, sub
