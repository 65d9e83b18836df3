"""Gradients of the SVG rasteriser against central finite differences of a 4x4-supersampled render."""

from __future__ import annotations

import torch

from dreamsampler3d.renderers.svg import LinearGradient, Path, Scene, Shape, render

D = torch.float64
SIZE = 24


def _loss_fn(build, weights: torch.Tensor, samples: int):
    def f(*params: torch.Tensor) -> torch.Tensor:
        return (render(build(*params), SIZE, samples=samples, dtype=D) * weights).sum()
    return f


def _check(build, params: list[torch.Tensor], eps: float = 1e-4, tol: float = 0.03) -> None:
    """Autograd of the 1-sample render vs central differences of the 4x4 supersampled render."""
    torch.manual_seed(0)
    w = torch.rand(SIZE, SIZE, 4, dtype=D)
    ps = [p.detach().clone().requires_grad_() for p in params]
    _loss_fn(build, w, 1)(*ps).backward()
    fd_f = _loss_fn(build, w, 4)
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
    _check(build, [BLOB, tri, torch.tensor([0.2, 0.9, 0.1, 0.9], dtype=D), torch.tensor([0.9, 0.2, 0.5, 0.6], dtype=D)])


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
    _check(build, [torch.tensor([0.1, 0.45, 0.9], dtype=D),
                   torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.2, 0.8, 0.3, 0.6], [0.0, 0.1, 1.0, 1.0]], dtype=D),
                   torch.tensor([4.0, 5.0], dtype=D)])
