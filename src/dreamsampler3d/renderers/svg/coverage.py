"""Exact area coverage of polygons, the font-rasteriser way (font-rs / stb_truetype v2).

Every edge is cut at pixel rows, then at pixel columns; each piece inside one cell adds its signed height
times the covered fraction to that cell and the rest to the next cell. A prefix sum along each row then
gives, per pixel, the integral of the winding number over the pixel: exact box-filtered coverage, in
O(edge-row crossings + edge-column crossings + bounding-box area). Every step is a differentiable
function of the edge end points, so autograd yields gradients w.r.t. vertex positions.

Memory is bounded by bounding boxes: layer l owns only the tile-aligned box its edges span; the boxes are
packed one under the other ([R, Wb] with R = sum of box heights, Wb = widest box), never a dense
[layers, H, W] tensor. The result is handed on as (layer, tile) pairs of T x T pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

TILE = 16


@dataclass
class TiledCoverage:
    """Coverage in [0, 1] as T x T tiles: pair p is tile ``tile_y[p], tile_x[p]`` of layer ``layer[p]``."""

    tiles: Tensor  # [P, T, T]
    layer: Tensor  # [P] long, non-decreasing
    tile_y: Tensor  # [P] long
    tile_x: Tensor  # [P] long
    num_layers: int
    height: int
    width: int
    tile: int

    def dense(self) -> Tensor:
        """[L, H, W] coverage (for tests and small scenes)."""
        T = self.tile
        ty, tx = -(-self.height // T), -(-self.width // T)
        out = self.tiles.new_zeros(self.num_layers * ty * tx, T, T)
        out = out.index_copy(0, (self.layer * ty + self.tile_y) * tx + self.tile_x, self.tiles)
        out = out.view(self.num_layers, ty, tx, T, T).permute(0, 1, 3, 2, 4).reshape(self.num_layers, ty * T, tx * T)
        return out[:, : self.height, : self.width]


def _expand(counts: Tensor) -> tuple[Tensor, Tensor]:
    """For counts [N]: (owner [sum], rank within owner [sum])."""
    owner = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
    first = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(owner), device=counts.device) - first[owner]
    return owner, rank


def apply_fill_rule(area: Tensor, evenodd: Tensor) -> Tensor:
    """Winding area -> coverage. nonzero: min(|a|, 1); evenodd: triangle wave of |a| with period 2.
    evenodd broadcasts against area."""
    a = area.abs()
    nz = a.clamp(max=1)
    eo = 1 - (1 - torch.remainder(a, 2)).abs()
    return torch.where(evenodd, eo, nz)


def coverage(edges: Tensor, edge_layer: Tensor, evenodd: Tensor, height: int, width: int,
             tile: int = TILE) -> TiledCoverage:
    """Per-layer coverage of polygons. edges [E, 4] (x0, y0, x1, y1) in pixels, edge_layer [E] long,
    evenodd [L] bool (fill rule per layer)."""
    dev, dt = edges.device, edges.dtype
    H, W, T = height, width, tile
    L = len(evenodd)
    with torch.no_grad():
        y0d, y1d = edges[:, 1], edges[:, 3]
        ylo = torch.minimum(y0d, y1d).clamp(0, H)
        yhi = torch.maximum(y0d, y1d).clamp(0, H)
        keep = (yhi > ylo) & ((y1d - y0d).abs() > 1e-9)
        kept = keep.nonzero().squeeze(1)
        lay = edge_layer[kept]
        xs = edges[kept][:, [0, 2]].clamp(0, W)
        # Tile-aligned bounding box of every layer.
        def red(v: Tensor, init: int, op: str) -> Tensor:
            return torch.full((L,), init, dtype=torch.long, device=dev).scatter_reduce(0, lay, v, op, include_self=True)
        ty0 = red(ylo[kept].floor().long() // T, 1 << 40, "amin")
        # Rows floor(ylo) .. floor(yhi): an end exactly on a pixel line gets a zero-height piece so that
        # autograd sees the one-sided (downward / rightward) derivative consistently at ties.
        last_row = yhi[kept].floor().long().clamp(max=H - 1)
        ty1 = red(last_row // T + 1, 0, "amax")
        tx0 = red(xs.min(1).values.floor().long() // T, 1 << 40, "amin")
        tx1 = red(xs.max(1).values.floor().long() // T + 1, 0, "amax")  # x == W lands in a spare tile column
        tx1 = torch.minimum(tx1, torch.full_like(tx1, -(-W // T)))
        nty = (ty1 - ty0).clamp(min=0)
        ntx = (tx1 - tx0).clamp(min=0)
        nty = torch.where(ntx > 0, nty, 0)
        wb = int(ntx.max()) * T + 2 if L else 2
        row_off = (torch.cumsum(nty, 0) - nty) * T  # [L] first packed row of each layer
        R = int(nty.sum()) * T
        first = ylo[kept].floor().long()
        n = (last_row - first + 1).clamp(min=1)
        pe, k = _expand(n)  # piece -> kept-edge index
        row = first[pe] + k  # [P]
        e_of = kept[pe]
        lay_p = edge_layer[e_of]
    e = edges[e_of]  # [P, 4]
    x0, y0, x1, y1 = e.unbind(1)
    rowf = row.to(dt)
    # torch.maximum splits the gradient on ties, and vertices on pixel lines are common: use where.
    ylo_g, yhi_g = torch.where(y0 < y1, y0, y1), torch.where(y0 < y1, y1, y0)
    ya = torch.where(ylo_g >= rowf, ylo_g, rowf)
    yb = torch.where(yhi_g < rowf + 1, yhi_g, rowf + 1)
    dy = y1 - y0
    ta = ((ya - y0) / dy).clamp(0, 1)
    tb = ((yb - y0) / dy).clamp(0, 1)
    xa = (x0 + ta * (x1 - x0)).clamp(0, W)  # left of the image acts as x = 0: exact for coverage
    xb = (x0 + tb * (x1 - x0)).clamp(0, W)
    hgt = (yb - ya) * torch.sign(dy).detach()  # [P] signed height inside this row
    xl, xr = torch.where(xa <= xb, xa, xb), torch.where(xa <= xb, xb, xa)
    with torch.no_grad():
        c_first = xl.floor().long()
        nc = (xr.floor().long() - c_first + 1).clamp(min=1)
        ps, k2 = _expand(nc)  # sub-piece -> piece
        col = c_first[ps] + k2  # [S]
        single = (nc == 1)[ps]
        base = ((row_off[lay_p] + row - ty0[lay_p] * T) * wb - tx0[lay_p] * T)[ps] + col  # [S]
    colf = col.to(dt)
    xls, xrs = xl[ps], xr[ps]
    cl = torch.where(xls >= colf, xls, colf)
    cr = torch.where(xrs < colf + 1, xrs, colf + 1)
    den = torch.where(single, torch.ones_like(xls), xrs - xls)
    frac = torch.where(single, torch.ones_like(xls), (cr - cl) / den)
    h = hgt[ps] * frac  # [S]
    here = h * (colf + 1 - 0.5 * (cl + cr))
    acc = edges.new_zeros(R * wb).index_add(0, base, here).index_add(0, base + 1, h - here)
    area = acc.view(R, wb).cumsum(1)  # [R, Wb] integral of the signed winding number
    with torch.no_grad():
        row_layer = torch.repeat_interleave(torch.arange(L, device=dev), nty * T)
    cov = apply_fill_rule(area, evenodd[row_layer][:, None])
    # (layer, tile) pairs and their T x T blocks.
    wt = (wb - 2) // T
    with torch.no_grad():
        pl, rank = _expand(nty * ntx)  # pair -> layer
        ly, lx = rank // ntx[pl].clamp(min=1), rank % ntx[pl].clamp(min=1)
        src = (row_off[pl] // T + ly) * wt + lx
    blocks = cov[:, : wt * T].reshape(R // T, T, wt, T).permute(0, 2, 1, 3).reshape(-1, T, T)
    return TiledCoverage(blocks[src], pl, ty0[pl] + ly, tx0[pl] + lx, L, H, W, T)
