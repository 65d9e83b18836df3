"""Inverse-problem regularisers: region guidance, data-consistent blending, DPS through the real UNet."""

from __future__ import annotations

import torch

from dreamsampler3d.sampler.consistency import data_consistent_latent, dps_step, region_guidance
from dreamsampler3d.sampler.ddim import ddim_step, tweedie
from dreamsampler3d.sampler.operators import make_operator


def test_region_guidance_only_touches_fill_regions():
    g = torch.Generator().manual_seed(0)
    z_b = torch.randn(1, 4, 8, 8, generator=g)
    conds = torch.randn(2, 1, 4, 8, 8, generator=g)
    fill = torch.zeros(2, 1, 1, 8, 8)
    fill[0, ..., :4] = 1  # left half: prompt 0
    fill[1, ..., 6:] = 1  # right strip: prompt 1
    out = region_guidance(z_b, conds, fill, weight=0.3)
    assert torch.equal(out[..., 4:6], z_b[..., 4:6])  # kept columns untouched
    assert torch.allclose(out[..., :4], 0.7 * z_b[..., :4] + 0.3 * conds[0][..., :4])
    assert torch.allclose(out[..., 6:], 0.7 * z_b[..., 6:] + 0.3 * conds[1][..., 6:])


def test_overlapping_regions_share_the_pixel():
    z_b = torch.zeros(1, 1, 2, 2)
    conds = torch.stack([torch.ones(1, 1, 2, 2), 3 * torch.ones(1, 1, 2, 2)])
    fill = torch.ones(2, 1, 1, 2, 2)
    out = region_guidance(z_b, conds, fill, weight=1.0)
    assert torch.allclose(out, 2 * torch.ones(1, 1, 2, 2))


def test_data_consistency_keeps_observed_pixels(sd1_prior):
    """With a mask operator and tiny mu, the CG image equals y on observed pixels and D(z0) elsewhere."""
    g = torch.Generator().manual_seed(1)
    observed = torch.zeros(1, 1, 32, 32)
    observed[..., :16] = 1
    op = make_operator("inpaint", observed=observed)
    y = op.forward(torch.rand(1, 3, 32, 32, generator=g) * 2 - 1)
    z0 = torch.randn(1, 4, 16, 16, generator=g)
    with torch.no_grad():
        z_b, x = data_consistent_latent(sd1_prior, op, y, z0, alpha=0.6, mu=1e-4, iters=10)
        decoded = sd1_prior.decode(z0)
        assert (x[..., :16] - y[..., :16]).abs().max() < 1e-3
        assert (x[..., 16:] - decoded[..., 16:]).abs().max() < 1e-5
        assert torch.allclose(z_b, 0.6 * sd1_prior.encode(x) + 0.4 * z0, atol=1e-5)


def test_dps_gradient_matches_finite_differences(sd1_prior):
    """The DPS correction is -scale sqrt(a_prev) grad ||y - A D(z0_hat(z_t))||: check a directional derivative."""
    prior = sd1_prior
    null = prior.encode_text("")
    op = make_operator("sr4")
    g = torch.Generator().manual_seed(2)
    y = torch.rand(1, 3, 8, 8, generator=g) * 2 - 1
    z_t = torch.randn(1, 4, 16, 16, generator=g)
    t, a, a_prev = prior.schedule(10).at(5)
    scale = 1.0
    z_prev = dps_step(prior, prior, op, y, z_t, t, a, a_prev, null, scale)
    with torch.no_grad():
        base = ddim_step(z_t, prior.eps(z_t, t, [null])[0], a, a_prev)
    grad = (base - z_prev) / (scale * a_prev**0.5)

    def loss(z):
        with torch.no_grad():
            eps = prior.eps(z, t, [null])[0]
            return (y - op.forward(prior.decode(tweedie(z, eps, a)))).norm().double()

    d = torch.randn(z_t.shape, generator=g)
    h = 1e-2
    fd = (loss(z_t + h * d) - loss(z_t - h * d)) / (2 * h)
    analytic = (grad * d).sum().double()
    assert abs(fd - analytic) <= 0.02 * abs(analytic) + 1e-3, (fd, analytic)


def test_finished_super_resolution_explains_the_measurement_without_block_steps(sd1_prior):
    """The sampler's last projection of a real decoded latent onto an sr4 measurement: consistent, and the
    correction does not jump at the 4 x 4 blocks' edges (the CG projection's correction is constant per block)."""
    from dreamsampler3d.sampler.inverse import InverseConfig, InverseSampler

    g = torch.Generator().manual_seed(2)
    op = make_operator("sr4")
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    y = op.forward(((xx**2 + yy**2 < 0.4).float() * 2 - 1).expand(1, 3, 32, 32))  # [1, 3, 8, 8]
    null = sd1_prior.encode_text("")
    sampler = InverseSampler(sd1_prior, sd1_prior.schedule(4), op, y, null, [], torch.zeros(0, 1, 1, 16, 16),
                             InverseConfig(), g)
    z0 = torch.randn(1, 4, 16, 16, generator=g)
    with torch.no_grad():
        x, decoded = sampler.finish(z0), sd1_prior.decode(z0)
    assert float((op.forward(x) - y).abs().max()) < 1e-2
    jumps = (x - decoded).diff(dim=-1).abs().mean(dim=(0, 1, 2))  # [31]
    at_edge = torch.zeros_like(jumps, dtype=torch.bool)
    at_edge[3::4] = True
    assert float(jumps[at_edge].mean()) < 1.5 * float(jumps[~at_edge].mean())


def test_a_batch_of_restorations_finishes_as_their_mean(sd1_prior):
    """restore's samples=N: N latents end as one image, the mean of what each would have given alone (the sr
    back-projection is affine, so the mean of the projections is the projection of the mean)."""
    from dreamsampler3d.sampler.inverse import InverseConfig, InverseSampler

    g = torch.Generator().manual_seed(3)
    op = make_operator("sr8")
    y = op.forward(torch.rand(1, 3, 32, 32, generator=g) * 2 - 1)  # [1, 3, 4, 4]
    sampler = InverseSampler(sd1_prior, sd1_prior.schedule(4), op, y, sd1_prior.encode_text(""), [],
                             torch.zeros(0, 1, 1, 16, 16), InverseConfig(), g)
    z = torch.randn(3, 4, 16, 16, generator=g)
    with torch.no_grad():
        together = sampler.finish_mean(z)
        alone = sampler.finish(z)  # a batch of samples: each finished on its own
    assert alone.shape == (3, 3, 32, 32)
    assert together.shape == (1, 3, 32, 32)
    assert torch.allclose(together, alone.mean(0, keepdim=True), atol=1e-4)
    assert float((alone[0] - alone[1]).abs().mean()) > 10 * float((together - alone.mean(0, keepdim=True)).abs().max())
