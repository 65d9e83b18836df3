"""Conjugate gradient for the data-consistency normal equations (A^T A + mu I) x = b, matrix-free."""

from __future__ import annotations

from typing import Callable

from torch import Tensor


def _dot(a: Tensor, b: Tensor) -> Tensor:
    """Per-sample inner product: [B, ...] x [B, ...] -> [B, 1, ..., 1]."""
    return (a * b).flatten(1).sum(1).view(-1, *([1] * (a.dim() - 1)))


def conjugate_gradient(
    apply: Callable[[Tensor], Tensor], b: Tensor, x0: Tensor, iters: int = 10, rtol: float = 1e-12
) -> Tensor:
    """Solve apply(x) = b for a symmetric positive-definite ``apply``, each batch sample independently.

    Stops early once every sample's residual norm is below rtol times its right-hand side's.
    """
    x = x0.clone()
    r = b - apply(x)
    p = r.clone()
    rs = _dot(r, r)
    stop = (rtol**2) * _dot(b, b)
    for _ in range(iters):
        if bool((rs <= stop).all()):
            break
        ap = apply(p)
        alpha = rs / _dot(p, ap).clamp_min(1e-30)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = _dot(r, r)
        p = r + (rs_new / rs.clamp_min(1e-30)) * p
        rs = rs_new
    return x


def solve_data_consistency(op, y: Tensor, x_prior: Tensor, mu: float, iters: int = 10) -> Tensor:
    """argmin_x ||A x - y||^2 + mu ||x - x_prior||^2, started at x_prior."""
    b = op.adjoint(y) + mu * x_prior
    return conjugate_gradient(lambda x: op.adjoint(op.forward(x)) + mu * x, b, x_prior, iters)


def project_onto_measurement(op, y: Tensor, x: Tensor, mu: float, iters: int = 10) -> Tensor:
    """The last data-consistency projection of a result x [B, C, H, W] onto A x = y.

    Where the operator offers a smooth back-projection (super-resolution), iterate x += B (y - A x) (iterative
    back-projection, Irani and Peleg 1991): the correction is smooth, so the result is consistent without block
    steps. Elsewhere, the CG solve of argmin ||A x - y||^2 + mu ||x - x_prior||^2."""
    step = op.back_project(y - op.forward(x))
    if step is None:
        return solve_data_consistency(op, y, x, mu, iters)
    for _ in range(iters):
        x = x + step
        step = op.back_project(y - op.forward(x))
    return x
