"""Closed sub-pixel contour -> closed piecewise-cubic Bezier outline with as few segments as possible, so a
designer gets crisp icons with few nodes instead of a pixel tracer's wobbly many-segment outlines: sharp
corners where the contour has corners (rebuilt where anti-aliasing rounded them), G1 joins elsewhere, straight
sides exactly straight. After Schneider, "An Algorithm for Automatically Fitting Digitized Curves" (1990),
adapted to closed outlines, with tangent-distance solves so fits converge in a few steps. numpy only."""

from __future__ import annotations

import math

import numpy as np


def _bernstein(d: int, u: np.ndarray) -> np.ndarray:
    """Bernstein basis of degree d at u [m] -> [m, d + 1]."""
    k = np.arange(d + 1)
    return np.array([math.comb(d, j) for j in k]) * u[:, None] ** k * (1.0 - u[:, None]) ** (d - k)


def _bezier(ctrl: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Bezier of any degree: ctrl [d + 1, 2], u [m] -> points [m, 2] (derivatives are Beziers of differences)."""
    return _bernstein(len(ctrl) - 1, u) @ ctrl


def _reparameterise(ctrl: np.ndarray, points: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One Newton-Raphson step per point [m, 2] towards its nearest curve parameter: a root of (B - p) . B'."""
    diff = _bezier(ctrl, u) - points
    d1, d2 = _bezier(3 * np.diff(ctrl, axis=0), u), _bezier(6 * np.diff(ctrl, 2, axis=0), u)
    num, den = (diff * d1).sum(1), (d1 * d1).sum(1) + (diff * d2).sum(1)
    return np.clip(u - np.divide(num, den, out=np.zeros_like(num), where=np.abs(den) > 1e-12), 0.0, 1.0)


def _nearest_on_polyline(q: np.ndarray, poly: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points q [n, 2] onto the polyline poly [k + 1, 2] -> (distance [n], segment [n], position along it [n] in
    [0, 1]) of each point's nearest point on it."""
    a, d = poly[:-1], np.diff(poly, axis=0)  # [k, 2]
    rel = q[:, None] - a[None]  # [n, k, 2]
    t = np.clip((rel * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-12), 0.0, 1.0)  # [n, k]
    dist = ((rel - t[..., None] * d) ** 2).sum(-1)  # [n, k] squared
    seg = dist.argmin(1)  # [n]
    rows = np.arange(len(q))
    return np.sqrt(dist[rows, seg]), seg, t[rows, seg]


def _point_errors(ctrl: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance [m] of each point [m, 2] from the cubic, whatever parameters the fit used: nearest point of a
    32-chord polyline of the curve, polished by three Newton steps on the curve itself."""
    k = 32
    _, seg, t = _nearest_on_polyline(points, _bezier(ctrl, np.linspace(0.0, 1.0, k + 1)))
    u = (seg + t) / k
    for _ in range(3):
        u = _reparameterise(ctrl, points, u)
    return np.linalg.norm(_bezier(ctrl, u) - points, axis=1)


def max_error(ctrl: np.ndarray, points: np.ndarray) -> float:
    """Largest distance of the points [m, 2] from the cubic ctrl [4, 2]: the fit criterion (with ``stray``)."""
    return float(_point_errors(ctrl, points).max())


def stray(ctrl: np.ndarray, points: np.ndarray, k: int = 32) -> float:
    """Largest distance of the cubic ctrl [4, 2] (k + 1 points along it) from the polyline through the points
    [m >= 2, 2]: a curve can pass every point and still loop or spike between them (free handles on a short piece
    in a thin slit overshot by three times its length, and drew a spike across a 64 px icon), which the points' own
    distances do not see."""
    return float(_nearest_on_polyline(_bezier(ctrl, np.linspace(0.0, 1.0, k + 1)), points)[0].max())


def _solve(points: np.ndarray, u: np.ndarray, t0: np.ndarray | None, t1: np.ndarray | None,
           along: np.ndarray | None = None) -> np.ndarray:
    """Least-squares inner control points for fixed ends and parameters u [m] -> ctrl [4, 2]. Each starts a third
    of the chord from its end (on the end tangent if given) and moves along that tangent or, tangent None,
    anywhere; an under-determined piece or a backward handle (a cusp, not G1) keeps the start. along [m, 2]: unit
    curve tangents at u, along which residuals then weigh only 0.1 (tangent-distance minimisation: the error
    across the curve is what counts, and fits converge in a few steps, not the dozens plain least squares takes)."""
    b0, b3 = points[0], points[-1]
    chord = np.linalg.norm(b3 - b0)
    start = np.stack([b0, b0 + (b3 - b0) / 3.0, b3 + (b0 - b3) / 3.0, b3])  # [4, 2]
    ends = ((1, b0, t0, 1.0), (2, b3, t1, -1.0))  # (control point, its end, end tangent, handle sign)
    moves = []  # (control point, unit direction [2] it may move along)
    for j, end, t, sign in ends:
        if t is None:
            moves += [(j, e) for e in np.eye(2)]
        else:
            start[j] = end + sign * chord / 3.0 * t
            moves.append((j, sign * t))
    if along is None:
        frame = np.ravel
    else:
        across = np.stack([-along[:, 1], along[:, 0]], 1)
        frame = lambda v: np.concatenate([(v * across).sum(1), 0.1 * (v * along).sum(1)])  # noqa: E731
    w = _bernstein(3, u)  # [m, 4]
    a = np.stack([frame(np.outer(w[:, j], d)) for j, d in moves], 1)  # [2 m, unknowns]
    x = np.linalg.lstsq(a, frame(points - w @ start), rcond=None)[0]
    ctrl = start.copy()
    for (j, d), xj in zip(moves, x):
        ctrl[j] += xj * d
    cusp = any(t is not None and sign * np.dot(ctrl[j] - end, t) < 1e-3 * chord for j, end, t, sign in ends)
    return start if cusp else ctrl


def fit_cubic(points: np.ndarray, t0: np.ndarray | None, t1: np.ndarray | None,
              iterations: int = 4) -> np.ndarray:
    """points [m, 2] (ends kept exactly) -> cubic [4, 2]: least squares from chord-length parameters, then
    `iterations` Newton reparameterisations, each followed by a tangent-distance solve. t0, t1: unit tangents
    in the direction of travel at the start and the end, or None (free); pieces sharing a join's tangent are G1."""
    points = np.asarray(points, float)
    t0, t1 = (None if t is None else np.asarray(t, float) for t in (t0, t1))
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    u = s / s[-1] if s[-1] > 0 else np.linspace(0.0, 1.0, len(points))
    ctrl = _solve(points, u, t0, t1)
    for _ in range(iterations):
        u = _reparameterise(ctrl, points, u)
        d1 = _bezier(3 * np.diff(ctrl, axis=0), u)
        ctrl = _solve(points, u, t0, t1, d1 / np.maximum(np.linalg.norm(d1, axis=1, keepdims=True), 1e-12))
    return ctrl


def _arclength(pts: np.ndarray) -> np.ndarray:
    """Cumulative arc length [N + 1] of the closed polyline [N, 2] (last entry: the perimeter)."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0, append=pts[:1]), axis=1))])


def _at(pts: np.ndarray, s: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Points [len(q), 2] of the closed polyline at arc lengths q (wrapped around the perimeter)."""
    closed, q = np.vstack([pts, pts[:1]]), np.mod(q, s[-1])
    return np.stack([np.interp(q, s, closed[:, 0]), np.interp(q, s, closed[:, 1])], 1)


def _direction(pts: np.ndarray, s: np.ndarray, q: float, a: float, b: float) -> np.ndarray:
    """Unit direction [2] of the chord from arc length q + a to q + b: a tangent that averages out noise."""
    d = np.diff(_at(pts, s, np.array([q + a, q + b])), axis=0)[0]
    return d / max(np.linalg.norm(d), 1e-12)


def _bisect(ok, lo: int, hi: int) -> int:
    """Largest j in [lo, hi] with ok(j), for ok true then false along the range (lo if none)."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid - 1)
    return lo


def corner_indices(contour: np.ndarray, corner_angle: float, scale: float,
                   soft_angle: float | None = None) -> np.ndarray:
    """Indices [K] (sorted) of the corners of a closed contour [M, 2]: points where the direction turns by more
    than corner_angle degrees between chords `scale` long on either side (long chords ignore pixel noise and
    gentle curvature), kept only where that turn is the largest within `scale` (non-maximum suppression). With
    `soft_angle`, a turn above it also counts where the turn within 3 `scale` on each side falls to 10 degrees
    (straight): a corner a blurred picture rounded (a 14 px hexagon's 60 degrees read as 30-45) stands out from the
    straight sides beside it, where a circle turns alike all round."""
    pts = np.asarray(contour, float)
    s = _arclength(pts)
    si, perimeter = s[:-1], s[-1]
    back, fwd = pts - _at(pts, s, si - scale), _at(pts, s, si + scale) - pts  # [M, 2]
    cross = back[:, 0] * fwd[:, 1] - back[:, 1] * fwd[:, 0]
    turn = np.degrees(np.abs(np.arctan2(cross, (back * fwd).sum(1))))  # [M]
    kept: list[int] = []
    least = corner_angle if soft_angle is None else min(corner_angle, soft_angle)
    straight = 10.0  # degrees: the most a side beside a soft corner may turn
    for i in np.argsort(-turn, kind="stable"):
        if turn[i] <= least:
            break
        signed = (si - si[i] + perimeter / 2) % perimeter - perimeter / 2  # [M] arc offset from i
        gap = np.abs(signed)  # [M] arc distance to i
        if turn[i] <= corner_angle and any(turn[(side * signed > 0) & (gap <= 3 * scale)].min(initial=turn[i])
                                           > straight for side in (-1, 1)):
            continue  # a soft corner stands between straight sides
        if turn[i] >= turn[gap <= scale].max() and all(gap[j] > scale for j in kept):
            kept.append(int(i))
    return np.array(sorted(kept), dtype=int)


class _Outline:
    """A closed contour [N, 2] being cut into pieces: the points to fit and, per join, its tangents and kind."""

    def __init__(self, pts: np.ndarray, tolerance: float, scale: float):
        self.pts, self.tol, self.scale, self.s, self.n = pts, tolerance, scale, _arclength(pts), len(pts)
        self.closed = np.vstack([pts, pts[:1]])  # [N + 1, 2] the points fitted; index N is index 0 again
        self.tangents: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # join -> (arriving, leaving)
        self.corner: dict[int, bool] = {}

    def add_smooth(self, i: int, reach: float) -> None:
        """A G1 join, its one tangent the chord over +-reach: a long symmetric chord is nearly exact on smooth
        arcs and averages out pixel noise, which would otherwise tilt both pieces."""
        reach = max(reach, self.scale)
        t = _direction(self.pts, self.s, self.s[i], -reach, reach)
        self.tangents[i], self.corner[i] = (t, t), False

    def add_corner(self, i: int) -> None:
        """A sharp join, each side with its own tangent taken beyond the anti-aliased rounding (0.75 scale);
        points in the rounding move onto the sides, the anchor to where the sides meet."""
        pts, s, h = self.pts, self.s, self.scale
        a_in, a_out = _at(pts, s, np.array([s[i] - h, s[i] + h]))
        t_in, t_out = _direction(pts, s, s[i], -1.5 * h, -0.75 * h), _direction(pts, s, s[i], 0.75 * h, 1.5 * h)
        self.tangents[i], self.corner[i] = (t_in, t_out), True
        off = (s[:-1] - s[i] + s[-1] / 2) % s[-1] - s[-1] / 2  # [N] signed arc length from the corner
        for side, a, t in ((off < 0, a_in, t_in), (off > 0, a_out, t_out)):
            m = side & (np.abs(off) < 0.75 * h)
            self.closed[:-1][m] = a + ((pts[m] - a) @ t)[:, None] * t
        x = np.linalg.lstsq(np.stack([t_in, -t_out], 1), a_out - a_in, rcond=None)[0][0]
        if abs(t_in[0] * t_out[1] - t_in[1] * t_out[0]) > 1e-3 and np.linalg.norm(a_in + x * t_in - pts[i]) <= h:
            self.closed[i] = a_in + x * t_in
        self.closed[-1] = self.closed[0]

    def fit(self, i0: int, i1: int) -> tuple[int, int, np.ndarray, float]:
        """Piece between joins i0 < i1 -> (i0, i1, ctrl [4, 2], max error). A side between corners stays
        straight if it can; a corner end leaves its tangent free, a smooth end shares its join's tangent."""
        p, c0, c1 = self.closed[i0:i1 + 1], self.corner[i0], self.corner[i1 % self.n]
        line = np.stack([p[0], (2 * p[0] + p[-1]) / 3, (p[0] + 2 * p[-1]) / 3, p[-1]])
        if c0 and c1 and (e := max_error(line, p)) <= self.tol:
            return i0, i1, line, e
        ctrl = fit_cubic(p, None if c0 else self.tangents[i0][1], None if c1 else self.tangents[i1 % self.n][0])
        e = max(max_error(ctrl, p), stray(ctrl, p))
        if e > self.tol and i1 - i0 < 4 and (e_line := max(max_error(line, p), stray(line, p))) < e:
            return i0, i1, line, e_line  # too short to split (a slit's end), and the cubic strays more than the chord
        return i0, i1, ctrl, e

    def split(self, a: int, b: int) -> list:
        """Piece a..b -> two pieces at a new smooth join. Moving the join on grows the first half's error and
        shrinks the second's, so bisect: where the two cross (two balanced pieces, if two will do), else the
        farthest join whose first half fits (the rest then needs the fewest pieces)."""
        memo: dict[int, list] = {}

        def halves(j: int) -> list:
            if j not in memo:
                self.add_smooth(j, 0.2 * min(self.s[j] - self.s[a], self.s[b] - self.s[j]))
                memo[j] = [self.fit(a, j), self.fit(j, b)]
            return memo[j]

        j = _bisect(lambda j: halves(j)[0][3] <= halves(j)[1][3], a + 2, b - 2)
        j = min((j, min(j + 1, b - 2)), key=lambda j: max(h[3] for h in halves(j)))
        if max(h[3] for h in halves(j)) > self.tol:
            j = _bisect(lambda j: halves(j)[0][3] <= self.tol, a + 2, b - 2)
        return halves(j)


def fit_closed_curve(contour: np.ndarray, tolerance: float = 0.5, corner_angle: float = 40.0,
                     max_segments: int = 32, min_smooth_pieces: int = 2,
                     soft_angle: float | None = None) -> np.ndarray:
    """contour [M, 2] closed polyline (x, y) (first point may or may not repeat at the end) ->
    control points [3 S, 2]: for each segment s: anchor_s, c1_s, c2_s; segment s ends at anchor_{s+1}
    (the last one at anchor_0). Straight sides come out as cubics with control points on the chord (1/3, 2/3).

    Corners (``corner_indices``, with ``soft_angle``) stay sharp, every other join is G1. Pieces out of tolerance
    (px) are split, worst first, until all fit or there are max_segments (more only if there are more corners than
    that). An outline without corners gets at least min_smooth_pieces (up to 4) segments: two cubics fit a small
    circle within a pixel, but look like a lemon at 512 px."""
    pts = np.asarray(contour, float)
    pts = pts[np.linalg.norm(pts - np.roll(pts, -1, 0), axis=1) > 1e-6]  # no repeats, nor the closing one
    if len(pts) < 3:
        raise ValueError(f"a closed contour needs at least 3 distinct points, got {len(pts)}")
    scale = max(2.0, 3.0 * tolerance)  # px: windows for corners and tangents, well above pixel noise
    corners = corner_indices(pts, corner_angle, scale, soft_angle)
    if len(corners):  # start at a corner, cut at every corner
        outline, bounds = _Outline(np.roll(pts, -corners[0], 0), tolerance, scale), [*(corners - corners[0]), len(pts)]
        for c in bounds[:-1]:
            outline.add_corner(int(c))
        pieces = [outline.fit(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
    else:  # smooth outline: the fewest of 2, 3, 4 equal-arc pieces that fit, else 4 and split on
        outline = _Outline(pts, tolerance, scale)
        for k in range(min(max(2, min_smooth_pieces), 4), 5):
            bounds = [*np.unique(np.searchsorted(outline.s[:-1], np.arange(k) * outline.s[-1] / k)), len(pts)]
            for b in bounds[:-1]:
                outline.add_smooth(int(b), 0.2 * outline.s[-1] / k)
            pieces = [outline.fit(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]
            if max(p[3] for p in pieces) <= tolerance:
                break
    while len(pieces) < max_segments:
        bad = [k for k, (a, b, _, e) in enumerate(pieces) if e > tolerance and b - a >= 4]
        if not bad:
            break
        k = max(bad, key=lambda k: pieces[k][3])
        pieces[k:k + 1] = outline.split(*pieces[k][:2])
    return np.concatenate([ctrl[:3] for _, _, ctrl, _ in pieces])
