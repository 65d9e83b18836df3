"""DiffusionPrior: the one object through which every task talks to a Stable-Diffusion-family model."""

from __future__ import annotations

import os
from typing import Sequence

import torch
from torch import Tensor

from ..errors import UserError
from ..sampler.ddim import v_to_eps
from ..sampler.schedule import Schedule
from .schedules import ddim_schedule
from .conditioning import TextCondition, stack_conditions
from .loading import load_pipeline

_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """fp32 on CPU (half precision is slow and lossy there); fp16 by default on CUDA."""
    if dtype == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if dtype not in _DTYPES:
        raise UserError(f"prior.dtype: unknown dtype {dtype!r} (choose auto, fp32, fp16 or bf16)")
    return _DTYPES[dtype]


class DiffusionPrior:
    """Batched CFG noise prediction (always as epsilon), Tweedie-ready schedules, VAE encode/decode.

    Not an ``nn.Module`` on purpose: tasks hold it without putting gigabytes of frozen weights into their
    checkpoints.
    """

    def __init__(self, pipe, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32):
        self.pipe = pipe
        self.device = torch.device(device)
        self.dtype = dtype
        self.unet = pipe.unet
        self.vae = pipe.vae
        self.is_sdxl = getattr(self.unet.config, "addition_embed_type", None) == "text_time"
        self.prediction_type = pipe.scheduler.config.get("prediction_type", "epsilon")
        if self.prediction_type not in ("epsilon", "v_prediction"):
            raise UserError(f"unsupported prediction_type {self.prediction_type!r} (epsilon or v_prediction)")
        # SDXL's VAE overflows in fp16: run it in fp32 when the config asks for it.
        self.vae_dtype = torch.float32 if getattr(self.vae.config, "force_upcast", False) else dtype
        self.scaling_factor = float(self.vae.config.scaling_factor)
        shift = getattr(self.vae.config, "shift_factor", None)
        self.shift_factor = float(shift) if shift is not None else 0.0
        self.vae_scale = 2 ** (len(self.vae.config.block_out_channels) - 1)
        self._cache: dict[str, TextCondition] = {}
        for module in (self.unet, self.vae, pipe.text_encoder, getattr(pipe, "text_encoder_2", None)):
            if module is not None:
                module.requires_grad_(False).eval()
        self.to(self.device)

    @classmethod
    def from_pretrained(cls, model: str | os.PathLike, dtype: str = "auto", device: str = "auto") -> "DiffusionPrior":
        dev = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, dev)
        return cls(load_pipeline(model, torch_dtype), dev, torch_dtype)

    def to(self, device: torch.device | str) -> "DiffusionPrior":
        self.device = torch.device(device)
        self.pipe.to(self.device)
        if self.vae.dtype != self.vae_dtype:
            self.vae.to(dtype=self.vae_dtype)
        self._cache = {k: v.to(self.device, self.dtype) for k, v in self._cache.items()}
        return self

    # ----------------------------------------------------------------------------------------- sizes
    @property
    def latent_channels(self) -> int:
        return int(self.unet.config.in_channels)

    @property
    def default_size(self) -> int:
        """Pixel size the UNet was trained at."""
        size = self.unet.config.sample_size
        size = size[0] if isinstance(size, (tuple, list)) else size
        return int(size) * self.vae_scale

    @property
    def size_multiple(self) -> int:
        """Image sides must be multiples of this: the VAE's factor times the UNet's down-sampling."""
        return self.vae_scale * 2 ** (len(self.unet.config.block_out_channels) - 1)

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        m = self.size_multiple
        if height < m or width < m or height % m or width % m:
            raise UserError(f"image size {width}x{height}: both sides must be positive multiples of {m} for this model")
        return self.latent_channels, height // self.vae_scale, width // self.vae_scale

    def schedule(self, num_steps: int) -> Schedule:
        try:
            return ddim_schedule(dict(self.pipe.scheduler.config), num_steps)
        except ValueError as exc:
            raise UserError(f"--steps: {exc}") from None

    # ------------------------------------------------------------------------------------------ text
    @torch.no_grad()
    def encode_text(self, prompt: str) -> TextCondition:
        """Encode one prompt with the pipeline's own encoder code (clip-skip, SDXL pooling), cached."""
        if prompt in self._cache:
            return self._cache[prompt]
        if self.is_sdxl:
            if prompt == "" and self.pipe.config.get("force_zeros_for_empty_prompt", False):
                ref, _, pooled_ref, _ = self.pipe.encode_prompt(
                    " ", device=self.device, do_classifier_free_guidance=False
                )
                cond = TextCondition(prompt, torch.zeros_like(ref), torch.zeros_like(pooled_ref))
            else:
                embeds, _, pooled, _ = self.pipe.encode_prompt(
                    prompt, device=self.device, do_classifier_free_guidance=False
                )
                cond = TextCondition(prompt, embeds, pooled)
        else:
            embeds, _ = self.pipe.encode_prompt(prompt, self.device, 1, False)
            cond = TextCondition(prompt, embeds)
        cond = cond.to(self.device, self.dtype)
        self._cache[prompt] = cond
        return cond

    def _time_ids(self, n: int, height: int, width: int) -> Tensor:
        """SDXL micro-conditioning: original size, crop (0, 0), target size, all the render size."""
        ids = torch.tensor([[height, width, 0, 0, height, width]], device=self.device, dtype=self.dtype)
        return ids.repeat(n, 1)

    # ------------------------------------------------------------------------------------------ noise
    def eps_each(self, z_t: Tensor, t: int, conds: Sequence[TextCondition]) -> Tensor:
        """One UNet call; sample n sees condition n. z_t [N, C, h, w] -> epsilon [N, C, h, w] (float32).

        Runs under the caller's grad mode, so DPS can differentiate through it.
        """
        embeds, pooled = stack_conditions(list(conds))
        n = z_t.shape[0]
        kwargs = {}
        if self.is_sdxl:
            h, w = z_t.shape[-2] * self.vae_scale, z_t.shape[-1] * self.vae_scale
            kwargs["added_cond_kwargs"] = {"text_embeds": pooled, "time_ids": self._time_ids(n, h, w)}
        timestep = torch.full((n,), int(t), device=self.device, dtype=torch.long)
        out = self.unet(z_t.to(self.dtype), timestep, encoder_hidden_states=embeds, return_dict=False, **kwargs)[0]
        out = out.float()
        if self.prediction_type == "v_prediction":
            out = v_to_eps(out, z_t.float(), float(self.pipe.scheduler.alphas_cumprod[int(t)]))
        return out

    def eps(self, z_t: Tensor, t: int, conds: Sequence[TextCondition]) -> Tensor:
        """Every condition on every sample, batched: z_t [B, C, h, w] -> epsilon [K, B, C, h, w]."""
        k, b = len(conds), z_t.shape[0]
        z = z_t.repeat(k, 1, 1, 1)
        flat = [c for c in conds for _ in range(b)]
        return self.eps_each(z, t, flat).view(k, b, *z_t.shape[1:])

    # ------------------------------------------------------------------------------------------- VAE
    def encode(self, images: Tensor) -> Tensor:
        """Images in [-1, 1] [B, 3, H, W] -> scaled latents [B, C, h, w] (posterior mean: deterministic)."""
        dist = self.vae.encode(images.to(self.device, self.vae_dtype)).latent_dist
        return ((dist.mean.float() - self.shift_factor) * self.scaling_factor)

    def decode(self, latents: Tensor) -> Tensor:
        """Scaled latents [B, C, h, w] -> images in [-1, 1] (not clamped) [B, 3, H, W], float32."""
        z = latents / self.scaling_factor + self.shift_factor
        return self.vae.decode(z.to(self.device, self.vae_dtype), return_dict=False)[0].float()
