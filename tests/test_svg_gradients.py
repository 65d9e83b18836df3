"""Gradients of the SVG rasteriser against central finite differences of a 4x4-supersampled render."""

from __future__ import annotations

import torch

from dreamsampler3d.renderers.svg import LinearGradient, Path, RadialGradient, Scene, Shape, render

D = torch.float64
SIZE = 24


def _loss_fn(build, weights: torch.Tensor, samples: int):
    def f(*params: torch.Tensor) -> torch.Tensor:  # fine flattening, so curve error stays out of the check
        return (render(build(*params), SIZE, samples=samples, dtype=D, tol=0.02 / samples) * weights).sum()
    return f


def _check(build, params: list[torch.Tensor], eps: float = 1e-4, tol: float = 0.03, fd_samples: int = 4) -> None:
    """Autograd of the 1-sample render vs central differences of the fd_samples^2 supersampled render."""
    torch.manual_seed(0)
    w = torch.rand(SIZE, SIZE, 4, dtype=D)
    ps = [p.detach().clone().requires_grad_() for p in params]
    _loss_fn(build, w, 1)(*ps).backward()
    fd_f = _loss_fn(build, w, fd_samples)
    for i, p in enumerate(params):
        num = torch.zeros_like(p)
        flat = num.view(-1)
        for j in range(p.numel()):
            hi = [q.detach().clone() for q in params]
            lo = [q.detach().clone() for q in params]
            hi[i].view(-1)[j] += eps
            lo[i].view(-1)[j] -= eps
            with torch.no_grad():
                flat[j] = (fd_f(*hi) - fd_f(*lo)) / (2 * eps)
        got = ps[i].grad
        err = (got - num).norm() / num.norm().clamp(min=1e-9)
        assert err < tol, f"param {i}: relative error {err:.4f}\nautograd {got}\nfinite diff {num}"


BLOB = torch.tensor([[6.0, 5.0], [12.0, 2.0], [18.0, 6.0], [19.0, 11.0], [20.0, 16.0], [15.0, 21.0],
                     [10.0, 19.0], [5.0, 17.0], [3.0, 12.0]], dtype=D)


def test_fill_points_and_colour_gradients():
    def build(pts, col):
        return Scene(SIZE, SIZE, [Shape([Path(pts, [3, 3, 3], closed=True)], fill=col)])
    _check(build, [BLOB, torch.tensor([0.8, 0.3, 0.1, 0.7], dtype=D)])


def test_overlapping_layers_gradients():
    tri = torch.tensor([[2.0, 20.0], [12.5, 3.3], [21.0, 18.6]], dtype=D)

    def build(pts, tri, c1, c2):
        return Scene(SIZE, SIZE, [Shape([Path(pts, [3, 3, 3], closed=True)], fill=c1),
                                  Shape([Path(tri, [1, 1, 1], closed=True)], fill=c2)])
    params = [BLOB, tri, torch.tensor([0.2, 0.9, 0.1, 0.9], dtype=D), torch.tensor([0.9, 0.2, 0.5, 0.6], dtype=D)]
    _check(build, params, fd_samples=1)  # autograd is exact for our own forward model
    # Per-layer area coverage composites partial pixels of two layers as if uncorrelated ("conflation",
    # as in diffvg's prefiltering), so against supersampling only a looser match is expected.
    _check(build, params, tol=0.15)


def test_stroke_points_width_gradients():
    line = torch.tensor([[4.0, 18.0], [8.0, 3.0], [16.0, 22.0], [20.3, 6.2]], dtype=D)

    def build(pts, width):
        return Scene(SIZE, SIZE, [Shape([Path(pts, [3], closed=False)], stroke=torch.tensor([0.1, 0.2, 0.9, 1.0], dtype=D),
                                        stroke_width=width, linecap="round", linejoin="round")])
    _check(build, [line, torch.tensor(2.7, dtype=D)])


def test_polyline_miter_stroke_gradients():
    zig = torch.tensor([[3.0, 4.0], [12.2, 19.0], [20.0, 5.5]], dtype=D)

    def build(pts, width):
        return Scene(SIZE, SIZE, [Shape([Path(pts, [1, 1], closed=False)], stroke=torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=D),
                                        stroke_width=width, linejoin="miter", linecap="square")])
    _check(build, [zig, torch.tensor(3.1, dtype=D)])


def test_gradient_stop_gradients():
    sq = torch.tensor([[3.0, 3.0], [21.0, 3.0], [21.0, 21.0], [3.0, 21.0]], dtype=D)

    def build(offsets, colors, start):
        g = LinearGradient(start, torch.tensor([20.0, 17.0], dtype=D), offsets, colors)
        return Scene(SIZE, SIZE, [Shape([Path(sq, [1, 1, 1, 1], closed=True)], fill=g)])
    params = [torch.tensor([0.1, 0.45, 0.9], dtype=D),
              torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.2, 0.8, 0.3, 0.6], [0.0, 0.1, 1.0, 1.0]], dtype=D),
              torch.tensor([4.0, 5.0], dtype=D)]
    _check(build, params, fd_samples=1)
    _check(build, params, tol=0.1)  # paints are sampled at pixel centres, supersampling averages them


def test_radial_gradient_gradients():
    def build(pts, center, radius, colors):
        g = RadialGradient(center, radius, torch.tensor([0.0, 1.0], dtype=D), colors)
        return Scene(SIZE, SIZE, [Shape([Path(pts, [3, 3, 3], closed=True)], fill=g)])
    params = [BLOB, torch.tensor([11.0, 12.0], dtype=D), torch.tensor(7.5, dtype=D),
              torch.tensor([[1.0, 1.0, 0.0, 1.0], [0.0, 0.5, 0.0, 0.8]], dtype=D)]
    _check(build, params, fd_samples=1)


def test_evenodd_hole_and_opacity_gradients():
    ring = torch.tensor([[4.0, 4.0], [20.5, 3.5], [19.0, 20.0], [3.5, 19.5]], dtype=D)
    hole = torch.tensor([[9.0, 9.3], [15.2, 9.0], [14.7, 15.1], [9.4, 14.6]], dtype=D)

    def build(ring, hole, opacity):
        return Scene(SIZE, SIZE, [Shape([Path(ring, [1, 1, 1, 1], closed=True), Path(hole, [1, 1, 1, 1], closed=True)],
                                        fill=torch.tensor([0.3, 0.6, 0.9, 1.0], dtype=D), fill_rule="evenodd",
                                        opacity=opacity)])
    _check(build, [ring, hole, torch.tensor(0.7, dtype=D)])
