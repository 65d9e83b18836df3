"""The sampler with no distillation / regulariser reproduces diffusers' own DDIM pipeline."""

from __future__ import annotations

import copy

import pytest
import torch
from diffusers import DDIMScheduler

from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
from dreamsampler3d.sampler.dreamsampler import DreamSampler, SamplerConfig
from dreamsampler3d.sampler.inversion import ddim_invert


def _pipeline_latents(pipe, latents, prompt, guidance, steps, **embeds):
    pipe = copy.copy(pipe)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    size = latents.shape[-1] * 2
    text = {"prompt": prompt} if not embeds else embeds
    out = pipe(**text, height=size, width=size, num_inference_steps=steps, guidance_scale=guidance,
               eta=0.0, latents=latents.clone(), output_type="latent")
    return out.images


@pytest.mark.parametrize("family", ["sd1", "sd2v", "sdxl"])
def test_null_sampler_matches_diffusers_ddim(tiny_pipes, family):
    """omega = 0, eta = 0, renoise with eps_null == pipeline(prompt='', guidance_scale=1)."""
    pipe = tiny_pipes[family]
    prior = DiffusionPrior(pipe)
    z_T = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(1))
    sampler = DreamSampler(prior, prior.schedule(20), prior.encode_text(""), [],
                           SamplerConfig(guidance=0.0, renoise="unconditional", eta=0.0))
    ours = sampler.sample(z_T)
    null = prior.encode_text("")
    # SDXL's null condition is the all-zero embedding its pipeline uses for CFG; hand it over as embeddings
    embeds = {"prompt_embeds": null.embeds, "pooled_prompt_embeds": null.pooled} if family == "sdxl" else {}
    ref = _pipeline_latents(pipe, z_T, "", 1.0, 20, **embeds)
    err = (ours - ref).abs().max().item()
    print(f"{family}: max |ours - diffusers| = {err:.2e}")
    assert err <= 1e-4
    assert ours.abs().mean() > 0.1  # a real trajectory, not a degenerate zero


@pytest.mark.parametrize("family", ["sd1", "sd2v", "sdxl"])
def test_classic_cfg_sampler_matches_diffusers(tiny_pipes, family):
    """Renoising with the guided eps reproduces the pipeline's classifier-free guidance."""
    pipe = tiny_pipes[family]
    prior = DiffusionPrior(pipe)
    z_T = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(2))
    prompt = "a red star on a white background"
    sampler = DreamSampler(prior, prior.schedule(15), prior.encode_text(""), [prior.encode_text(prompt)],
                           SamplerConfig(guidance=5.0, renoise="guided", eta=0.0))
    ours = sampler.sample(z_T)
    ref = _pipeline_latents(pipe, z_T, prompt, 5.0, 15)
    err = (ours - ref).abs().max().item()
    print(f"{family} CFG 5: max |ours - diffusers| = {err:.2e}")
    assert err <= 1e-4
    # guidance changes the result: the check above is not trivially met by ignoring the prompt
    unguided = DreamSampler(prior, prior.schedule(15), prior.encode_text(""), [],
                            SamplerConfig(guidance=0.0, renoise="unconditional")).sample(z_T)
    assert (unguided - ref).abs().max() > 1e-3


@pytest.mark.parametrize("family", ["sd1", "sd2v"])
def test_inversion_then_sampling_returns_input(tiny_pipes, family):
    """Fixed-point DDIM inversion is exact enough that sampling returns the input latent.

    A random-weight UNet is far rougher than a trained one, so plain inversion (eps at the wrong level) drifts
    a lot here; the refined inversion must not.
    """
    prior = DiffusionPrior(tiny_pipes[family])
    null = prior.encode_text("")
    z0 = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(3))
    schedule = prior.schedule(50)
    sampler = DreamSampler(prior, schedule, null, [], SamplerConfig(guidance=0.0, renoise="unconditional"))
    errors = {}
    for iters in (0, 4):
        z_T = ddim_invert(prior, schedule, z0, null, fixed_point_iters=iters)
        back = sampler.sample(z_T)
        errors[iters] = ((back - z0).norm() / z0.norm()).item()
        print(f"{family}: fixed-point iters {iters}: relative L2 {errors[iters]:.2e}, "
              f"max abs {(back - z0).abs().max().item():.2e}")
    assert errors[4] < 0.02
    assert errors[4] < errors[0]
    assert (z_T - z0).norm() / z0.norm() > 0.5  # the latent really travelled to noise and back
