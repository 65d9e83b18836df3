"""DiffusionPrior: loading, VAE scaling, prompt cache, dtypes."""

from __future__ import annotations

import pytest
import torch

from dreamsampler3d.errors import UserError
from dreamsampler3d.priors.diffusion_prior import DiffusionPrior, resolve_dtype
from dreamsampler3d.priors.tiny import build_tiny_pipeline


def test_loads_every_family_from_a_folder(tiny_folders):
    for family, folder in tiny_folders.items():
        prior = DiffusionPrior.from_pretrained(folder)
        assert prior.is_sdxl == (family == "sdxl")
        assert prior.prediction_type == ("v_prediction" if family == "sd2v" else "epsilon")


def test_vae_uses_its_own_scaling_factor(sd1_prior):
    """encode = scaling_factor * posterior mean, checked against the VAE called directly."""
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        raw = sd1_prior.vae.encode(x).latent_dist.mean
        z = sd1_prior.encode(x)
        assert sd1_prior.scaling_factor == 0.5  # the tiny config's value, not SD's 0.18215
        assert torch.allclose(z, raw * 0.5)
        assert torch.allclose(sd1_prior.decode(z), sd1_prior.vae.decode(raw).sample, atol=1e-5)


def test_prompt_cache_and_negative_prompt(sd1_prior):
    a = sd1_prior.encode_text("a red star")
    assert sd1_prior.encode_text("a red star") is a
    assert not torch.equal(a.embeds, sd1_prior.encode_text("blurry").embeds)


def test_v_prediction_is_returned_as_epsilon(tiny_pipes):
    """For a v-model, eps = sqrt(a) v + sqrt(1 - a) z_t, with v the UNet's raw output."""
    prior = DiffusionPrior(tiny_pipes["sd2v"])
    cond = prior.encode_text("x")
    z = torch.randn(1, 4, 16, 16)
    t = 400
    a = float(prior.pipe.scheduler.alphas_cumprod[t])
    with torch.no_grad():
        v = prior.unet(z, torch.tensor([t]), encoder_hidden_states=cond.embeds).sample
        assert torch.allclose(prior.eps(z, t, [cond])[0], a**0.5 * v + (1 - a) ** 0.5 * z, atol=1e-5)


def test_bf16_runs_and_stays_close_to_fp32():
    """Half precision is a config switch (fp16 needs CUDA; bf16 also runs on CPU, so it is tested here)."""
    fp32 = DiffusionPrior(build_tiny_pipeline("sd1"))
    bf16 = DiffusionPrior(build_tiny_pipeline("sd1").to(dtype=torch.bfloat16), dtype=torch.bfloat16)
    z = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        e32 = fp32.eps(z, 500, [fp32.encode_text("a")])
        e16 = bf16.eps(z, 500, [bf16.encode_text("a")])
        nearby = fp32.eps(z, 480, [fp32.encode_text("a")])  # what one DDIM step of 50 changes
    assert e16.dtype == torch.float32  # the sampler always sees float32
    rms = lambda x: x.pow(2).mean().sqrt()  # noqa: E731
    # bf16 keeps 8 bits of mantissa (0.4 %): a few layers give ~1 %, measured 1.1 %; well below a step's change
    assert rms(e16 - e32) < 0.03 * rms(e32) and rms(e16 - e32) < 0.5 * rms(nearby - e32)


def test_dtype_defaults():
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float16
    with pytest.raises(UserError):
        resolve_dtype("fp8", torch.device("cpu"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_fp16_on_cuda_matches_fp32():
    fp32 = DiffusionPrior(build_tiny_pipeline("sd1"))
    fp16 = DiffusionPrior(build_tiny_pipeline("sd1").to(dtype=torch.float16), "cuda", torch.float16)
    z = torch.randn(1, 4, 16, 16)
    with torch.no_grad():
        e32 = fp32.eps(z, 500, [fp32.encode_text("a")])
        e16 = fp16.eps(z.cuda(), 500, [fp16.encode_text("a")]).cpu()
    assert (e16 - e32).abs().max() < 0.02 * e32.abs().max()
