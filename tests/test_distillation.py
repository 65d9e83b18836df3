"""Closed-form identities of the distillation rules, checked with a real tiny UNet."""

from __future__ import annotations

import math

import torch

from dreamsampler3d.sampler.ddim import tweedie
from dreamsampler3d.sampler.distillation import DDS, PDS, SDS, Prompts, closed_form_target, dds_gradient, dds_step_size_to_omega


def test_one_null_source_dds_step_equals_cfg_tweedie(sd1_prior):
    """A DDS SGD step from z0_hat_null, source = same latent with the null prompt, shared noise eps_null,
    equals Tweedie of the CFG noise with omega_t = gamma sqrt(a) / sqrt(1 - a)."""
    prior = sd1_prior
    schedule = prior.schedule(10)
    t, a, _ = schedule.at(3)
    null, cond = prior.encode_text(""), prior.encode_text("a blue circle")
    z_t = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        eps_null, eps_cond = prior.eps(z_t, t, [null, cond])
    z0_null = tweedie(z_t, eps_null, a)
    gamma = 0.3
    grad = dds_gradient(prior, z0_null, z0_null, t, a, eps_null, Prompts(null=null, target=cond, source=null), 1.0)
    dds_step = z0_null - gamma * grad
    closed = closed_form_target(z_t, eps_null, eps_cond, a, dds_step_size_to_omega(gamma, a))
    mix = (1 - dds_step_size_to_omega(gamma, a)) * z0_null + dds_step_size_to_omega(gamma, a) * tweedie(z_t, eps_cond, a)
    err = (dds_step - closed).abs().max().item()
    print(f"DDS step vs closed form: max abs diff {err:.2e} (latent scale {closed.abs().mean():.2f})")
    assert err < 1e-4
    assert (mix - closed).abs().max() < 1e-4
    assert (closed - z0_null).abs().max() > 1e-2  # the step actually moved


def test_dds_and_pds_vanish_when_target_equals_source(sd1_prior):
    prior = sd1_prior
    schedule = prior.schedule(10)
    null, cond = prior.encode_text(""), prior.encode_text("a blue circle")
    z = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    prompts = Prompts(null=null, target=cond, source=cond)
    for rule in (DDS(prior, schedule, prompts, z, generator=torch.Generator().manual_seed(0)),
                 PDS(prior, schedule, prompts, z, generator=torch.Generator().manual_seed(0))):
        assert rule.gradient(z).abs().max() < 1e-4
    # and do not vanish for a different target prompt
    other = Prompts(null=null, target=prior.encode_text("a red star"), source=cond)
    assert DDS(prior, schedule, other, z, generator=torch.Generator().manual_seed(0)).gradient(z).abs().max() > 1e-3


def test_sds_gradient_is_weighted_noise_residual(sd1_prior):
    """SDS with guidance 1 is (1 - a)(eps_c(z_t) - eps): recompute it by hand with the same draws."""
    prior = sd1_prior
    schedule = prior.schedule(10)
    null, cond = prior.encode_text(""), prior.encode_text("a blue circle")
    z = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(2))
    rule = SDS(prior, schedule, Prompts(null=null, target=cond), guidance=1.0, generator=torch.Generator().manual_seed(5))
    grad = rule.gradient(z)
    g = torch.Generator().manual_seed(5)
    t = int(torch.randint(int(0.02 * 1000), int(0.98 * 1000), (1,), generator=g))
    noise = torch.randn(z.shape, generator=g)
    a = float(schedule.train_alphas[t])
    with torch.no_grad():
        eps = prior.eps(math.sqrt(a) * z + math.sqrt(1 - a) * noise, t, [cond])[0]
    assert (grad - (1 - a) * (eps - noise)).abs().max() < 1e-5


def test_every_rule_is_fitted_with_one_loss_convention(sd1_prior):
    """fit_loss's gradient is the rule's own gradient over the latent's size, for SDS, DDS and PDS alike (and
    DreamSampler's closed-form pull): generator regularisers then weigh the same against every method."""
    from dreamsampler3d.sampler.distillation import fit_loss

    prior = sd1_prior
    schedule = prior.schedule(10)
    null, cond = prior.encode_text(""), prior.encode_text("a red star")
    z0 = torch.randn(1, *prior.latent_shape(32, 32), generator=torch.Generator().manual_seed(0))
    rules = [SDS(prior, schedule, Prompts(null, cond), 7.5, generator=torch.Generator().manual_seed(1)),
             DDS(prior, schedule, Prompts(null, cond, null), z0 + 0.1, 7.5, generator=torch.Generator().manual_seed(1)),
             PDS(prior, schedule, Prompts(null, cond, null), z0 + 0.1, 7.5, generator=torch.Generator().manual_seed(1))]
    for rule in rules:
        state = rule.generator.get_state()
        expected = rule.gradient(z0)
        rule.generator.set_state(state)
        z = z0.clone().requires_grad_(True)
        fit_loss(z, rule.target(z)).backward()
        assert torch.allclose(z.grad, expected / z.numel(), atol=1e-6, rtol=1e-4), type(rule).__name__
