"""Tiny random-weight pipelines of each Stable Diffusion family, built from configs (no downloads).

They exercise exactly the code paths of real checkpoints (SD 1.x epsilon, SD 2.x v-prediction, SDXL's two
text encoders and added time conditioning) at a size that runs in milliseconds on a CPU.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch

FAMILIES = ("sd1", "sd2v", "sdxl")


def _bytes_to_unicode() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for bytes (GPT-2 / CLIP convention)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return [chr(c) for c in chars]


def tiny_tokenizer(max_length: int = 16):
    """A byte-level CLIP tokenizer with no merges: every string tokenises (character by character)."""
    from transformers import CLIPTokenizer

    chars = _bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps(vocab))
        (Path(tmp) / "merges.txt").write_text("#version: 0.2\n")
        return CLIPTokenizer(
            vocab=str(Path(tmp) / "vocab.json"), merges=str(Path(tmp) / "merges.txt"), model_max_length=max_length
        )


def _text_encoder(hidden: int, projection: int | None, vocab_size: int, max_length: int):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cfg = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=max_length, bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1, projection_dim=projection or hidden,
        hidden_act="gelu",
    )
    return CLIPTextModelWithProjection(cfg) if projection else CLIPTextModel(cfg)


def _scheduler(prediction_type: str):
    from diffusers import DDIMScheduler

    return DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
        clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type=prediction_type,
    )


def _vae():
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
        down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2,
        layers_per_block=1, norm_num_groups=4, sample_size=32, scaling_factor=0.5,
    )


def build_tiny_pipeline(family: str = "sd1", seed: int = 0, sample_size: int = 16):
    """A random-weight pipeline of the given family; images are sample_size * 2 pixels square."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel

    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    torch.manual_seed(seed)
    max_length = 16
    tokenizer = tiny_tokenizer(max_length)
    vocab = len(tokenizer)
    common = dict(
        sample_size=sample_size, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(16, 32), norm_num_groups=8,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    )
    if family == "sdxl":
        unet = UNet2DConditionModel(
            **common, cross_attention_dim=32, attention_head_dim=(2, 4), use_linear_projection=True,
            addition_embed_type="text_time", addition_time_embed_dim=8, projection_class_embeddings_input_dim=8 * 6 + 16,
            transformer_layers_per_block=(1, 1),
        )
        pipe = StableDiffusionXLPipeline(
            vae=_vae(), text_encoder=_text_encoder(16, None, vocab, max_length),
            text_encoder_2=_text_encoder(16, 16, vocab, max_length), tokenizer=tokenizer,
            tokenizer_2=tiny_tokenizer(max_length), unet=unet, scheduler=_scheduler("epsilon"),
            force_zeros_for_empty_prompt=True,
        )
    else:
        v = family == "sd2v"
        unet = UNet2DConditionModel(
            **common, cross_attention_dim=32, attention_head_dim=(2, 4) if v else 8, use_linear_projection=v,
        )
        pipe = StableDiffusionPipeline(
            vae=_vae(), text_encoder=_text_encoder(32, None, vocab, max_length), tokenizer=tokenizer,
            unet=unet, scheduler=_scheduler("v_prediction" if v else "epsilon"), safety_checker=None,
            feature_extractor=None, requires_safety_checker=False,
        )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def save_tiny_pipeline(folder: str | Path, family: str = "sd1", seed: int = 0, sample_size: int = 16) -> Path:
    folder = Path(folder)
    build_tiny_pipeline(family, seed, sample_size).save_pretrained(folder)
    return folder
