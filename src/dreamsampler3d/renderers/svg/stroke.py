"""Strokes as fill polygons, so one coverage routine serves fills and strokes.

Each polyline edge becomes a quad of the stroke's width whose ends, at a join, meet the neighbour's on the
inner corner (so the two tile the inside without overlapping: exact area coverage counts an overlap
twice in partly covered pixels); joins add a wedge on the outer side (round fan, miter or bevel) and open
ends add caps. All polygons are re-oriented to the same sign, so their union is the nonzero fill of the
set. Fan angles keep their grad (a cap or join that did not turn with its segment
would open a sliver at the quad corner); directions of zero-length segments fall back to a constant so
atan2 never sees (0, 0).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .flatten import Polylines

_CAPS = {"butt": 0, "round": 1, "square": 2}
_JOINS = {"miter": 0, "round": 1, "bevel": 2}


def _poly_edges(verts: Tensor, counts: Tensor) -> tuple[Tensor, Tensor]:
    """Closed polygons stored back to back: verts [V, 2], counts [G] -> edges [V, 4], polygon id [V]."""
    dev = verts.device
    pid = torch.repeat_interleave(torch.arange(len(counts), device=dev), counts)
    start = torch.cumsum(counts, 0) - counts
    i = torch.arange(len(pid), device=dev)
    nxt = torch.where(i == (start + counts - 1)[pid], start[pid], i + 1)
    return torch.cat([verts, verts[nxt]], 1), pid


def _fans(center: Tensor, radius: Tensor, theta0: Tensor, sweep: Tensor, tol: Tensor) -> tuple[Tensor, Tensor]:
    """Pie slices: center [F, 2], radius [F], theta0/sweep [F] radians, chord tolerance [F] -> vertices,
    counts."""
    with torch.no_grad():
        r = radius.detach().clamp(min=1e-6)
        step = 2 * torch.acos((1 - tol / r).clamp(-1, 1)).clamp(min=1e-3)
        k = (sweep.detach().abs() / step).ceil().nan_to_num(1.0).clamp(1, 64).long() + 1  # arc points
        owner = torch.repeat_interleave(torch.arange(len(k), device=center.device), k)
        first = torch.cumsum(k, 0) - k
        j = torch.arange(len(owner), device=center.device) - first[owner]
        frac = j.to(sweep.dtype) / (k[owner] - 1).clamp(min=1).to(sweep.dtype)
    ang = theta0[owner] + sweep[owner] * frac
    unit = torch.stack([torch.cos(ang), torch.sin(ang)], 1)  # [A, 2]
    arc = center[owner] + radius[owner, None] * unit  # [A, 2]
    # Each fan: centre then its arc points.
    counts = k + 1
    slot = torch.repeat_interleave(torch.arange(len(k), device=center.device), counts)
    firsts = torch.cumsum(counts, 0) - counts
    pos = torch.arange(len(slot), device=center.device) - firsts[slot]
    verts = center.new_zeros(len(slot), 2)
    is_c = pos == 0
    verts = verts.index_put((is_c.nonzero().squeeze(1),), center)
    verts = verts.index_put(((~is_c).nonzero().squeeze(1),), arc)
    return verts, counts


def _angle(v: Tensor) -> Tensor:
    """atan2 with a constant fallback for (near) zero vectors, so its gradient is never NaN."""
    ok = (v.detach().abs().sum(1) > 1e-12)[:, None]
    v = torch.where(ok, v, torch.tensor([1.0, 0.0], dtype=v.dtype, device=v.device))
    return torch.atan2(v[:, 1], v[:, 0])


def stroke_polygons(lines: Polylines, half_width: Tensor, linecap: Tensor, linejoin: Tensor,
                    miterlimit: Tensor, tol: Tensor | float = 0.1) -> tuple[Tensor, Tensor]:
    """Edges [E, 4] of the stroke outline of every subpath, and the subpath of each edge [E].
    half_width/linecap/linejoin/miterlimit/tol are per subpath [Q] (caps/joins as ints, see _CAPS/_JOINS)."""
    dev, dt = lines.verts.device, lines.verts.dtype
    v = lines.verts
    q = len(lines.count)
    tol = torch.as_tensor(tol, dtype=dt, device=dev).expand(q)
    sub = torch.repeat_interleave(torch.arange(q, device=dev), lines.count)  # [V]
    i = torch.arange(len(sub), device=dev)
    last = (lines.start + lines.count - 1)[sub]
    is_last = i == last
    nxt = torch.where(is_last, lines.start[sub], i + 1)
    # Segments: i -> nxt, all of them for closed subpaths, all but the last vertex's for open ones.
    seg_ok = ~is_last | lines.closed[sub]
    seg = seg_ok.nonzero().squeeze(1)
    p0, p1 = v[seg], v[nxt[seg]]  # [S, 2]
    hw = half_width[sub[seg]]  # [S]
    d = p1 - p0
    ln = torch.sqrt((d * d).sum(1) + 1e-12)
    u = d / ln[:, None]  # [S, 2]
    nhat = torch.stack([-u[:, 1], u[:, 0]], 1)  # [S, 2] unit left normals
    nrm = nhat * hw[:, None]
    left0, left1, right0, right1 = p0 + nrm, p1 + nrm, p0 - nrm, p1 - nrm
    polys_v: list[Tensor] = []
    polys_c: list[Tensor] = []
    polys_sub: list[Tensor] = []

    # Joins: between segment a (into vertex) and segment b (out of it), same subpath.
    seg_sub = sub[seg]
    s_idx = torch.arange(len(seg), device=dev)
    s_first = torch.full((q,), -1, dtype=torch.long, device=dev)
    s_last = torch.full((q,), -1, dtype=torch.long, device=dev)
    if len(seg):
        s_first = s_first.scatter_reduce(0, seg_sub, s_idx, "amin", include_self=False)
        s_last = s_last.scatter_reduce(0, seg_sub, s_idx, "amax", include_self=False)
    wrap = s_idx == s_last[seg_sub]
    b_idx = torch.where(wrap, s_first[seg_sub], s_idx + 1)
    join_ok = (~wrap | lines.closed[seg_sub]) & (s_last[seg_sub] != s_first[seg_sub])
    ja, jb = s_idx[join_ok], b_idx[join_ok]
    if len(ja):
        pc = p1[ja]
        ua, ub = u[ja], u[jb]
        hwj = hw[ja]
        with torch.no_grad():
            cross = ua[:, 0] * ub[:, 1] - ua[:, 1] * ub[:, 0]
            side = torch.where(cross >= 0, -1.0, 1.0).to(dt)  # +1: the outer side is the left (+normal)
        na = nhat[ja] * side[:, None]
        nb = nhat[jb] * side[:, None]
        cosv = (na * nb).sum(1)
        # Inner corner: where the two inner offset lines meet. Both quads end there (on a line through
        # the vertex), so they tile the inner side without overlap and partial pixels are not counted
        # twice. Too short segments keep square ends (a small overlap).
        with torch.no_grad():
            reach = hw[ja] * cross.abs() / (1 + cosv).clamp(min=1e-9)
            inner_ok = ((1 + cosv) > 1e-6) & (reach <= 0.5 * torch.minimum(ln[ja], ln[jb]))
        den = torch.where(inner_ok, 1 + cosv, torch.ones_like(cosv))
        m_in = pc - (na + nb) * (hwj / den)[:, None]
        left_outer = side > 0
        sel = inner_ok & left_outer  # inner side is the right side
        right1 = right1.index_put((ja[sel],), m_in[sel])
        right0 = right0.index_put((jb[sel],), m_in[sel])
        sel = inner_ok & ~left_outer
        left1 = left1.index_put((ja[sel],), m_in[sel])
        left0 = left0.index_put((jb[sel],), m_in[sel])
        jtype = linejoin[seg_sub[ja]]
        rnd = jtype == 1
        if rnd.any():
            t0 = _angle(na[rnd])
            sw = torch.remainder(_angle(nb[rnd]) - t0 + math.pi, 2 * math.pi) - math.pi
            with torch.no_grad():  # a U-turn is ambiguous: the arc must bulge along ua - ub (outwards)
                bis = ua[rnd] - ub[rnd]
                mid = t0 + sw / 2
                wrong = (torch.cos(mid) * bis[:, 0] + torch.sin(mid) * bis[:, 1]) < 0
                fix = torch.where(wrong, -2 * math.pi * torch.sign(sw), torch.zeros_like(sw))
            sw = sw + fix
            fv, fc = _fans(pc[rnd], hwj[rnd], t0, sw, tol[seg_sub[ja][rnd]])
            polys_v.append(fv); polys_c.append(fc); polys_sub.append(seg_sub[ja][rnd])
        mb = ~rnd
        if mb.any():
            pa = pc[mb] + na[mb] * hwj[mb, None]
            pb = pc[mb] + nb[mb] * hwj[mb, None]
            lim = miterlimit[seg_sub[ja][mb]]
            # SVG: miter while miter length / stroke width = sqrt(2 / (1 + cos)) <= miterlimit; a U-turn
            # (1 + cos = 0) has an infinite miter, so it is bevelled whatever the limit (1e6 once gave NaN)
            use_miter = (jtype[mb] == 0) & ((1 + cosv[mb]) * (lim * lim) >= 2)
            dm = torch.where(use_miter, 1 + cosv[mb], torch.ones_like(cosv[mb]))
            miter = pc[mb] + (na[mb] + nb[mb]) * (hwj[mb] / dm)[:, None]
            tip = torch.where(use_miter[:, None], miter, 0.5 * (pa + pb))
            polys_v.append(torch.stack([pc[mb], pa, tip, pb], 1).reshape(-1, 2))
            polys_c.append(torch.full((int(mb.sum()),), 4, dtype=torch.long, device=dev))
            polys_sub.append(seg_sub[ja][mb])
    # Segment bodies: [L0, L1, p1, R1, R0, p0] (a rectangle unless an end was cut at an inner corner).
    polys_v.insert(0, torch.stack([left0, left1, p1, right1, right0, p0], 1).reshape(-1, 2))
    polys_c.insert(0, torch.full((len(seg),), 6, dtype=torch.long, device=dev))
    polys_sub.insert(0, seg_sub)

    # Caps on open subpaths (also dots: a subpath of one point, or of zero-length segments).
    open_q = (~lines.closed & (lines.count > 0)).nonzero().squeeze(1)
    cap = linecap[open_q]
    capped = open_q[cap > 0]
    if len(capped):
        has = s_first[capped] >= 0
        first_v = v[lines.start[capped]]
        last_v = v[(lines.start + lines.count - 1)[capped]]
        ex = torch.tensor([1.0, 0.0], dtype=dt, device=dev).expand(len(capped), 2)
        uf = torch.where(has[:, None], u[s_first[capped].clamp(min=0)], ex)
        ul = torch.where(has[:, None], u[s_last[capped].clamp(min=0)], ex)
        uf = torch.where((uf.detach().norm(dim=1) > 0.5)[:, None], uf, ex)
        ul = torch.where((ul.detach().norm(dim=1) > 0.5)[:, None], ul, ex)
        hwc = half_width[capped]
        centers = torch.cat([first_v, last_v])  # [2C, 2]
        dirs = torch.cat([-uf, ul])  # outward directions
        radius = torch.cat([hwc, hwc])
        ctype = torch.cat([linecap[capped], linecap[capped]])
        csub = torch.cat([capped, capped])
        rc = ctype == 1
        if rc.any():
            left = torch.stack([-dirs[rc][:, 1], dirs[rc][:, 0]], 1)
            t0 = _angle(left)
            with torch.no_grad():  # sweep from the left normal through the outward direction
                sw = torch.full_like(t0, -math.pi)
                mid = t0 + sw / 2
                flip = (torch.cos(mid) * dirs[rc][:, 0] + torch.sin(mid) * dirs[rc][:, 1]) < 0
                sw = torch.where(flip, -sw, sw)
            fv, fc = _fans(centers[rc], radius[rc], t0, sw, tol[csub[rc]])
            polys_v.append(fv); polys_c.append(fc); polys_sub.append(csub[rc])
        sq = ctype == 2
        if sq.any():
            dd = dirs[sq]
            nn = torch.stack([-dd[:, 1], dd[:, 0]], 1) * radius[sq, None]
            c = centers[sq]
            ext = dd * radius[sq, None]
            polys_v.append(torch.stack([c + nn, c + nn + ext, c - nn + ext, c - nn], 1).reshape(-1, 2))
            polys_c.append(torch.full((int(sq.sum()),), 4, dtype=torch.long, device=dev))
            polys_sub.append(csub[sq])

    verts = torch.cat(polys_v)
    counts = torch.cat(polys_c)
    psub = torch.cat(polys_sub)
    edges, pid = _poly_edges(verts, counts)
    with torch.no_grad():  # shoelace sign per polygon; flip the positive ones
        cr = edges[:, 0] * edges[:, 3] - edges[:, 2] * edges[:, 1]
        area = torch.zeros(len(counts), dtype=dt, device=dev).index_add_(0, pid, cr)
        flip = (area > 0)[pid]
    edges = torch.where(flip[:, None], edges[:, [2, 3, 0, 1]], edges)
    return edges, psub[pid]
