"""Degradation operators pass the adjoint test; CG solves the normal equations (checked against a dense solve)."""

from __future__ import annotations

import pytest
import torch

from dreamsampler3d.sampler.cg import project_onto_measurement, solve_data_consistency
from dreamsampler3d.sampler.operators import Downsample, Mask, make_operator


def _operators(h=32, w=32):
    g = torch.Generator().manual_seed(0)
    observed = (torch.rand(1, 1, h, w, generator=g) > 0.3).float()
    return {
        "inpaint": make_operator("inpaint", observed=observed),
        "sr4": make_operator("sr4"),
        "sr8": make_operator("sr8"),
        "blur": make_operator("blur", blur_sigma=1.5),
        "noise": make_operator("noise", noise_sigma=0.1),
    }


@pytest.mark.parametrize("name", ["inpaint", "sr4", "sr8", "blur", "noise"])
def test_adjoint(name):
    op = _operators()[name]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 32, 32, generator=g, dtype=torch.float64)
    ax = op.forward(x)
    y = torch.randn(ax.shape, generator=g, dtype=torch.float64)
    lhs = (ax * y).sum()
    rhs = (x * op.adjoint(y)).sum()
    assert ax.shape[-2:] == op.measurement_shape(32, 32)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def _dense(op, h, w):
    """The operator's matrix, column by column, [m, n] for one channel."""
    n = h * w
    cols = [op.forward(torch.eye(n, dtype=torch.float64)[i].view(1, 1, h, w)).flatten() for i in range(n)]
    return torch.stack(cols, dim=1)


@pytest.mark.parametrize("name", ["inpaint", "sr4", "blur"])
def test_cg_solves_normal_equations(name):
    h = w = 16
    op = _operators(h, w)[name]
    g = torch.Generator().manual_seed(2)
    x_true = torch.randn(1, 1, h, w, generator=g, dtype=torch.float64)
    y = op.forward(x_true)
    x_prior = torch.randn(1, 1, h, w, generator=g, dtype=torch.float64)
    mu = 1e-2
    x = solve_data_consistency(op, y, x_prior, mu, iters=200)
    a = _dense(op, h, w)
    rhs = a.T @ y.flatten() + mu * x_prior.flatten()
    dense = torch.linalg.solve(a.T @ a + mu * torch.eye(h * w, dtype=torch.float64), rhs)
    residual = (a.T @ a @ x.flatten() + mu * x.flatten() - rhs).norm() / rhs.norm()
    assert residual < 1e-8
    assert (x.flatten() - dense).abs().max() < 1e-6


def test_degrade_adds_measurement_noise():
    op = make_operator("sr4", noise_sigma=0.05)
    x = torch.zeros(1, 3, 32, 32)
    y = op.degrade(x, torch.Generator().manual_seed(0))
    assert y.shape == (1, 3, 8, 8)
    assert 0.03 < y.std().item() < 0.07


@pytest.mark.parametrize("factor", [4, 8])
def test_last_projection_of_super_resolution_is_consistent_without_block_steps(factor):
    """A disc measured at 1/f resolution, a smooth wrong guess projected onto it: the result explains the
    measurement, is nearer the truth than the guess, and its correction jumps no more across the measurement's
    block edges than inside blocks (the least-norm A^T correction is constant per block: all jumps at edges)."""
    h = 64
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, h), indexing="ij")
    truth = ((((xx - 0.1) ** 2 + (yy + 0.2) ** 2) < 0.3).float() * 2 - 1).expand(1, 3, h, h)
    guess = torch.tanh(4 * (0.35 - ((xx + 0.05) ** 2 + (yy + 0.1) ** 2).sqrt())).expand(1, 3, h, h)
    op = Downsample(factor)
    y = op.forward(truth)
    x = project_onto_measurement(op, y, guess, 1e-4, 10)
    assert float((op.forward(x) - y).abs().max()) < 2e-3
    assert float((x - truth).pow(2).mean()) < 0.8 * float((guess - truth).pow(2).mean())
    jumps = (x - guess).diff(dim=-1).abs().mean(dim=(0, 1, 2))  # [W - 1] between columns c and c + 1
    at_edge = torch.zeros_like(jumps, dtype=torch.bool)
    at_edge[factor - 1::factor] = True
    assert float(jumps[at_edge].mean()) < 1.5 * float(jumps[~at_edge].mean())


def test_last_projection_elsewhere_is_the_cg_solve():
    """Masks (and blur) have no smooth back-projection: the last projection is the CG solve, exactly."""
    torch.manual_seed(0)
    observed = (torch.rand(1, 1, 16, 16) > 0.5).float()
    op = Mask(observed)
    y, guess = op.forward(torch.rand(1, 3, 16, 16) * 2 - 1), torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.equal(project_onto_measurement(op, y, guess, 1e-4, 10), solve_data_consistency(op, y, guess, 1e-4, 10))
