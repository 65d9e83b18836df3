"""Model cards (README.md) of the embedded priors, written at export and after benchmarking: the flat-icon prior,
and the 3D-object prior (trained on object views only) that text-to-3D uses."""

from __future__ import annotations

from pathlib import Path

from ...data.icons import BACKGROUNDS, COLOURS, POSITION_PHRASES, SHAPES


def write_card(folder: Path, info: dict, quality_md: str | None = None) -> None:
    """Render the card from training_info.json content and an optional benchmark table."""
    if is_object_prior(info):
        (Path(folder) / "README.md").write_text(object_card(Path(folder), info, quality_md))
        return
    vae = info.get("vae", {})
    dec = info.get("decoder_finetune") or {}
    folder = Path(folder)
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    quality = quality_md or "Not measured yet: run `python benchmarks/prior_quality.py`."
    device = info.get("device", "CPU")
    where = f"CPU only, {info.get('threads')} thread(s)" if device == "CPU" else f"One {device} GPU"
    command = (f" --device cpu --threads {info.get('threads')}" if device == "CPU" else " --device cuda") + (
        f" --batch {info.get('batch')} --vae-batch {vae.get('batch')} --vae-minutes "
        f"{vae.get('minutes', 0):.1f} --decoder-minutes {dec.get('minutes', 0):.2f} --minutes {info.get('unet_minutes', 0):.0f}")
    if info.get("init"):
        command += " --init <the previous, shapes-only prior>"
    concepts = _concept_data(info)
    text = f"""---
license: mit
library_name: diffusers
pipeline_tag: text-to-image
---

# dreamsampler3d embedded icon prior

A small text-conditioned latent diffusion model of **flat vector icons**, trained from scratch by
this project so that every dreamsampler3d task runs offline, on CPU, without downloading weights.
Stock diffusers/transformers classes in Stable Diffusion layout: it loads with
`StableDiffusionPipeline.from_pretrained(path)` exactly like SD 1.x checkpoints.

## Data

Synthetic scenes from `dreamsampler3d.data.icons` (seed {info.get('seed')}, {info.get('n_images')}
scenes cached): 1-3 objects of {len(SHAPES)} shapes ({', '.join(SHAPES)}) in {len(COLOURS)} colours
({', '.join(COLOURS)}) on a {', '.join(BACKGROUNDS)} background; large objects are centred, small
ones sit in a 3x3 grid named by {', '.join(repr(p) for p in POSITION_PHRASES.values())}.
Each scene is SVG first, rasterised by cairosvg at 64x64, and captioned from the same description,
e.g. "a red star on a white background", "a small blue circle in the top left and a small yellow
square in the bottom right on a black background". 10 % of captions are dropped to "" for
classifier-free guidance.
{concepts}
## Architecture

| part | class | parameters |
|---|---|---|
| autoencoder (64x64x3 -> 16x16x4) | `AutoencoderKL` | {info.get('vae_params', 0) / 1e6:.2f} M |
| text encoder (byte-level BPE, 40 tokens) | `CLIPTextModel` | {info.get('text_params', 0) / 1e6:.2f} M |
| denoiser (cross-attention at 16, 8, 4) | `UNet2DConditionModel` | {info.get('unet_params', 0) / 1e6:.2f} M |
| scheduler | `DDIMScheduler` (scaled_linear, 1000 steps, epsilon) | - |

VAE `scaling_factor` = {info.get('scaling_factor', 0):.4f} (1 / std of the latents). Weights are fp32
safetensors, {size_mb:.1f} MB in total.

## Training

{where}. VAE: {vae.get('steps')} steps of batch {vae.get('batch')}
in {vae.get('minutes', 0):.1f} min, held-out PSNR {vae.get('psnr_db', 0):.1f} dB{_on_concepts(vae)}; then the decoder alone on the
frozen latents: {dec.get('steps')} steps in {dec.get('minutes', 0):.1f} min, held-out PSNR
{dec.get('psnr_db', 0):.1f} dB{_on_concepts(dec)} (object pixels weighted 10x in both). Text encoder and UNet
jointly: {info.get('unet_steps')} steps of batch {info.get('batch')} in {info.get('unet_minutes', 0):.1f}
min, AdamW lr {info.get('lr')} with warm-up and cosine decay, min-SNR-5 loss weighting, EMA 0.999.
Reproduce: `python -m dreamsampler3d.priors.training.train_prior --out src/dreamsampler3d/assets/icon-prior
--seed {info.get('seed')} --n-images {info.get('n_images')}{command}` (or `dreamsampler3d train-prior ...`; add
`--resume` after an interruption). Phases are time-budgeted, so step counts depend on the machine;
the seed fixes the data, the initialisation and the batch order (bit-exact only on the same device
type: a GPU draws its batches and noise from a CUDA generator).

## Measured quality

{quality}

## Intended use and limits

Intended as the offline default prior of dreamsampler3d, for tests, demos and CI, and as a
domain where results can be judged automatically. It knows only the caption vocabulary above
(`dreamsampler3d concepts WORD` searches it; an unknown word is named in a warning with the nearest known
concepts); other words (e.g. "kitten", "zorblax") are tokenised into untrained character pieces and give
arbitrary icons. It is a small model: many concepts it knows by name still come out as colour and outline
rather than as the thing (the measured table says how many). 64x64 output only. Not a general image model: point `--model` at real
Stable Diffusion weights for anything else.

Licence: MIT for the weights and code; the drawings it learnt from keep their own licences and are credited
under Data.
"""
    (folder / "README.md").write_text(text)


def _on_concepts(phase: dict) -> str:
    return f" ({phase['concept_psnr_db']:.1f} dB on emoji drawings)" if "concept_psnr_db" in phase else ""


def _concept_data(info: dict) -> str:
    """The emoji-set part of the data, with each set's licence and authors (empty for a shapes-only prior)."""
    if not info.get("n_drawings"):
        return ""
    from ...data.icon_sets import SETS

    rows = "\n".join(f"| {s.author} | `{s.package}` {s.version} | {s.licence} | {'learnt from' if s.role == 'train' else 'judged against only, never trained on'} |"
                      for s in SETS.values() if s.role in ("train", "eval"))
    return f"""
Mixed in ({1 - info.get('shape_fraction', 0):.0%} of batches): {info['n_drawings']:,} drawings of {info.get('n_concepts', 0):,}
everyday concepts from open emoji sets (each drawing full-frame and once smaller and shifted), rendered by
cairosvg at 64x64 on white and captioned with emojibase's names, aliases and plurals in colour-emoji or line-icon
wording ("a rocket", "a red rocket emoji", "a rocket line icon"); the concept list, with the keywords that
`dreamsampler3d concepts` searches, ships beside the weights as `concepts.json`. Fetched from the npm registry at pinned versions and checksums by
`dreamsampler3d.data.icon_sets` (nothing is redistributed in the repository; Noto emoji is never used):

| drawings by | package | licence | use |
|---|---|---|---|
{rows}
{_views(info)}"""


def _views(info: dict) -> str:
    if not info.get("n_views"):
        return ""
    return (f"\nIn the same pool: {info['n_views']:,} 3D object views rendered by this project "
            "(`dreamsampler3d.data.objects3d`: cube, sphere, cylinder, cone, pyramid, torus, capsule and two-object "
            "stacks in the named colours, Lambert-shaded, from random cameras), captioned with the object and the "
            "view (\"a red cube, side view\"), for text-to-3D's view-dependent prompts.\n")


def is_object_prior(info: dict) -> bool:
    """A prior whose UNet learnt from 3D object views alone (--views N --shape-fraction 0 --no-concepts)."""
    return bool(info.get("n_views")) and not info.get("shape_fraction") and not info.get("n_drawings")


def object_card(folder: Path, info: dict, quality_md: str | None) -> str:
    vae = info.get("vae", {})
    dec = info.get("decoder_finetune") or {}
    size_mb = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    storage = "fp16 (loaded back as fp32)" if info.get("unet_storage") == "fp16" else "fp32"
    quality = quality_md or "Not measured yet: run `python benchmarks/text_to_3d_quality.py --suite full`."
    return f"""---
license: mit
library_name: diffusers
pipeline_tag: text-to-image
---

# dreamsampler3d embedded 3D-object prior

A small text-conditioned latent diffusion model of **shaded views of simple 3D objects**, trained by this
project so that text-to-3D has a prior that has seen objects from the side, from above and from below. It is
what `dreamsampler3d text-to-3d` uses by default (`--model embedded`, or `embedded-objects` for any task).
Stock diffusers/transformers classes in Stable Diffusion layout, as the flat-icon prior beside it.

## Data

{info.get('n_views', 0):,} views rendered by this project (`dreamsampler3d.data.objects3d`, seed {info.get('seed')}):
one of cube, sphere, cylinder, cone, pyramid, torus, capsule, or a two-object stack ("a red cube on top of a blue
cylinder"), in the named colours, ray-cast from signed distances, Lambert-shaded from a random light, on white,
seen from a random camera (elevation -45 to 80 degrees, any azimuth) at 64x64, and captioned with the object and
the view: "a red cube, side view", "a blue torus, overhead view", "a green cone, view from below". No downloaded
data. 10 % of captions are dropped to "" for classifier-free guidance.

## Training

Warm-started from the flat-icon prior (`--init`). The autoencoder is the icon prior's, fine-tuned for
{vae.get('minutes', 0):.1f} min ({vae.get('steps')} steps of batch {vae.get('batch')}; held-out PSNR
{vae.get('psnr_db', 0):.1f} dB on shape scenes, {vae.get('concept_psnr_db', 0):.1f} dB on views) and its decoder for
{dec.get('minutes', 0):.1f} min ({dec.get('psnr_db', 0):.1f} / {dec.get('concept_psnr_db', 0):.1f} dB), on a pool of
shape scenes and views. Text encoder and UNet jointly on views only: {info.get('unet_steps')} steps of batch
{info.get('batch')} in {info.get('unet_minutes', 0):.1f} min on {info.get('device', 'CPU')}
({info.get('threads')} thread(s)), AdamW lr {info.get('lr')} with warm-up and cosine decay, min-SNR-5 weighting,
EMA 0.999. UNet weights stored in {storage}; {size_mb:.1f} MB in all. Reproduce (the recipe and its history are
in the project's docs/prior.md):

    dreamsampler3d train-prior --work W --out OUT --init src/dreamsampler3d/assets/icon-prior --no-concepts \\
        --views {info.get('n_views')} --n-images {info.get('n_images')} --shape-fraction 0.3 --vae-minutes {vae.get('minutes', 0):.0f} \\
        --decoder-minutes {dec.get('minutes', 0):.0f} --phase decoder
    dreamsampler3d train-prior --work W --out OUT --init src/dreamsampler3d/assets/icon-prior --no-concepts \\
        --views {info.get('n_views')} --n-images {info.get('n_images')} --shape-fraction 0 --minutes {info.get('unet_minutes', 0):.0f} \\
        --threads {info.get('threads')} --resume --half-unet

## Measured quality

{quality}

## Intended use and limits

The default prior of text-to-3D, for the seven primitives and two-object stacks in the named colours. It knows
no other objects and no other styles. 64x64 output only.
For anything else point `--model` at real Stable Diffusion weights.

Licence: MIT for the weights and code; the training data is rendered by this project's code.
"""


def measured_quality(folder: Path) -> str | None:
    """The "Measured quality" section of a card already in `folder`, if it holds a measurement (kept when the card
    is rewritten for another reason)."""
    card = Path(folder) / "README.md"
    if not card.is_file():
        return None
    text = card.read_text()
    start, end = text.find("## Measured quality\n\n"), text.find("\n\n## Intended use")
    if start < 0 or end < start:
        return None
    section = text[start + len("## Measured quality\n\n"):end].strip()
    return None if section.startswith("Not measured yet") else section
