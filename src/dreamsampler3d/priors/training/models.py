"""Stock diffusers/transformers model configs of the embedded icon prior (docs/prior.md).

Sizes were picked by timing one training step on one CPU thread: the UNet has cross-attention
at every resolution (16, 8, 4) because position words stayed at chance without it at 16x16.
"""

from __future__ import annotations

from diffusers import AutoencoderKL, DDIMScheduler, UNet2DConditionModel
from transformers import CLIPTextConfig, CLIPTextModel

LATENT_SIZE = 16  # 64x64x3 image -> 16x16x4 latent
TEXT_DIM = 64

SCHEDULER_CONFIG = dict(  # SD-like DDIM config; training uses the same betas
    num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
    clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
)


def build_vae() -> AutoencoderKL:
    """0.65M-parameter KL autoencoder, 4x downsampling, no mid attention (flat icons)."""
    return AutoencoderKL(
        in_channels=3, out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 3, up_block_types=("UpDecoderBlock2D",) * 3,
        block_out_channels=(16, 32, 64), layers_per_block=1, latent_channels=4,
        norm_num_groups=8, sample_size=64, mid_block_add_attention=False,
    )


def build_text_encoder(vocab_size: int, bos: int, eos: int, max_len: int) -> CLIPTextModel:
    """Tiny CLIP text transformer; the pipeline only reads its last hidden state."""
    cfg = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=TEXT_DIM, intermediate_size=4 * TEXT_DIM,
        num_hidden_layers=3, num_attention_heads=4, max_position_embeddings=max_len,
        projection_dim=TEXT_DIM, bos_token_id=bos, eos_token_id=eos, pad_token_id=eos,
    )
    return CLIPTextModel(cfg)


def build_unet() -> UNet2DConditionModel:
    """~5M-parameter conditional UNet on 16x16x4 latents, cross-attention at 16, 8 and 4."""
    return UNet2DConditionModel(
        sample_size=LATENT_SIZE, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D",) * 3, up_block_types=("CrossAttnUpBlock2D",) * 3,
        block_out_channels=(48, 96, 128), layers_per_block=1, cross_attention_dim=TEXT_DIM,
        attention_head_dim=4, norm_num_groups=16,
    )


def build_scheduler() -> DDIMScheduler:
    return DDIMScheduler(**SCHEDULER_CONFIG)


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())
