"""Text-to-3D speed on CUDA with a Stable-Diffusion-1.5-sized prior (random weights built from configs).

    python benchmarks/text_to_3d_gpu.py [--steps 6] [--warmup 2] [--sizes 64 128] [--json FILE]
    python benchmarks/text_to_3d_gpu.py --device cpu --tiny          # smoke test on a CPU (seconds)

No weights are downloaded. The prior is a diffusers StableDiffusionPipeline assembled from configs:

- UNet: SD-1.5's UNet2DConditionModel config (block_out_channels 320/640/1280/1280, 2 layers per block,
  cross-attention dim 768, 8 heads, sample_size 64), 860M parameters;
- VAE: SD-1.5's AutoencoderKL config (128/256/512/512, scaling 0.18215), 84M parameters. Its config keeps
  diffusers' default force_upcast=True, so the prior runs it in fp32, as it does with the real checkpoint;
- text encoder: CLIP ViT-L/14's text-model shape (768 wide, 12 layers, 77 tokens) over the byte-level
  tokenizer of ``priors/tiny.py`` (the real CLIP BPE vocabulary is not on disk): a 514-token vocabulary
  instead of 49408, which changes nothing that runs per sampler step (prompts are encoded once and cached);
- DDIM scheduler with SD's betas (scaled_linear 0.00085..0.012, epsilon prediction).

The model's input is 512x512 (64x64 latents): the task renders the NeRF at ``render_size`` and up-samples
each render bilinearly to the prior's default size (``sample_size`` x the VAE factor) before the VAE
encoder, so the render size sets the NeRF's cost and the model input sets the prior's; 64 and 128 are the
render sizes measured. The prior's dtype is ``auto`` (fp16 UNet and text encoder on CUDA).

The task is the project's own ``text-to-3d`` (DreamSampler, one trajectory per fixed camera; YAML defaults:
4 views, 2 views per optimiser step, 4 NeRF optimiser steps per sampler step), built with ``build_config``
and ``build_task`` and run under a Lightning Trainer like ``tasks.runner.execute``, without the exports
(orbit video, mesh) and snapshots. The first ``--warmup`` sampler steps of each size are not timed.
Reported per size: sampler steps/s and NeRF optimiser steps/s (from the task's own per-step timer), the
share of a step spent in the UNet call and in the VAE encoder's forward passes (timed with
synchronisation around them), peak GPU memory (``torch.cuda.max_memory_allocated``, weights included),
and whether nerfacc's occupancy grid was used: how many renders went through it, the mean number of
samples per ray it kept (the dense renderer takes ``samples_per_ray``, 48) and the share of occupied
cells at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SD15_UNET = dict(
    in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32, act_fn="silu", center_input_sample=False,
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, mid_block_scale_factor=1, norm_eps=1e-5,
)
SD15_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32,
    act_fn="silu", sample_size=512, scaling_factor=0.18215,
)


def build_sd15_pipeline(sample_size: int = 64, device: str = "cpu", seed: int = 0):
    """SD-1.5-shaped StableDiffusionPipeline with random weights, created directly on ``device``."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from dreamsampler3d.priors.tiny import tiny_tokenizer

    torch.manual_seed(seed)
    tokenizer = tiny_tokenizer(77)
    vocab = len(tokenizer)
    text_cfg = CLIPTextConfig(
        vocab_size=vocab, hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
        max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768, bos_token_id=vocab - 2,
        eos_token_id=vocab - 1, pad_token_id=vocab - 1,
    )
    with torch.device(device):  # random init on the GPU: seconds instead of a minute on the host
        unet = UNet2DConditionModel(sample_size=sample_size, **SD15_UNET)
        vae = AutoencoderKL(**SD15_VAE)
        text_encoder = CLIPTextModel(text_cfg)
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
        clip_sample=False, set_alpha_to_one=False, steps_offset=1, prediction_type="epsilon",
    )
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


def make_prior(args, device: torch.device):
    from dreamsampler3d.priors.diffusion_prior import DiffusionPrior, resolve_dtype
    from dreamsampler3d.priors.tiny import build_tiny_pipeline

    dtype = resolve_dtype(args.dtype, device)
    if args.tiny:
        pipe = build_tiny_pipeline("sd1", seed=0)
        label = "tiny sd1 (priors/tiny.py)"
    else:
        pipe = build_sd15_pipeline(args.sample_size, str(device))
        label = "SD-1.5-sized, random weights"
    pipe.to(device, dtype)  # what from_pretrained(torch_dtype=...) gives; the prior re-upcasts a force_upcast VAE
    return DiffusionPrior(pipe, device, dtype), label


def count(module) -> float:
    return sum(p.numel() for p in module.parameters()) / 1e6


# ---------------------------------------------------------------------------------------------- probes
class Probe:
    """Synchronised timers around the UNet call and the VAE encoder's forward pass, and counters on
    nerfacc's occupancy-grid estimator (sampling calls, rays, kept samples, grid updates)."""

    def __init__(self, prior, device: torch.device):
        self.device = device
        self.reset()
        self._wrap(prior, "eps_each", "unet")
        self._wrap(prior, "encode", "vae_encode")

    def reset(self) -> None:
        self.seconds = {"unet": 0.0, "vae_encode": 0.0}
        self.calls = {"unet": 0, "vae_encode": 0}
        self.occ = {"sampling_calls": 0, "rays": 0, "samples": 0, "updates": 0}

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _wrap(self, obj, name: str, key: str) -> None:
        original = getattr(obj, name)

        def timed(*a, **k):
            self.sync()
            start = time.perf_counter()
            out = original(*a, **k)
            self.sync()
            self.seconds[key] += time.perf_counter() - start
            self.calls[key] += 1
            return out

        setattr(obj, name, timed)  # the prior is a plain object: an instance attribute shadows the method

    def patch_occupancy(self) -> None:
        from nerfacc import OccGridEstimator

        sampling, update = OccGridEstimator.sampling, OccGridEstimator.update_every_n_steps
        probe = self

        def counted_sampling(est, rays_o, *a, **k):
            ray_indices, t_starts, t_ends = sampling(est, rays_o, *a, **k)
            probe.occ["sampling_calls"] += 1
            probe.occ["rays"] += int(rays_o.shape[0])
            probe.occ["samples"] += int(ray_indices.shape[0])
            return ray_indices, t_starts, t_ends

        def counted_update(est, *a, **k):
            probe.occ["updates"] += 1
            return update(est, *a, **k)

        OccGridEstimator.sampling = counted_sampling
        OccGridEstimator.update_every_n_steps = counted_update


def occupancy_extension_ok() -> tuple[bool, str]:
    """Build/load nerfacc's CUDA extension and run one estimator call; (ok, message)."""
    from dreamsampler3d.renderers.nerf.volume import nerfacc_cuda_available

    start = time.perf_counter()
    ok, why = nerfacc_cuda_available()  # the same probe the generator uses before it turns the grid on
    if not ok:
        return False, f"nerfacc's CUDA extension is not available ({why})"
    try:
        from nerfacc import OccGridEstimator

        est = OccGridEstimator(roi_aabb=[-1, -1, -1, 1, 1, 1], resolution=16, levels=1).cuda()
        rays_o = torch.tensor([[0.0, 0.0, -2.0]], device="cuda")
        rays_d = torch.tensor([[0.0, 0.0, 1.0]], device="cuda")
        idx, _, _ = est.sampling(rays_o, rays_d, render_step_size=0.05)
        torch.cuda.synchronize()
        return True, f"ok ({time.perf_counter() - start:.1f} s to load; {int(idx.shape[0])} samples on a test ray)"
    except Exception as exc:  # noqa: BLE001 - report any build or load failure and carry on densely
        return False, f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"


# ---------------------------------------------------------------------------------------------- one size
def step_recorder(probe: Probe):
    """A Lightning callback recording, per epoch (= one sampler step): its wall time (Lightning's own
    overhead included) and the probe's readings, so the warm-up steps can be left out."""
    import lightning as L

    class Recorder(L.Callback):
        def __init__(self):
            self.wall: list[float] = []
            self.unet: list[float] = []
            self.vae: list[float] = []
            self.occ: list[dict] = []
            self._start = 0.0

        def on_train_epoch_start(self, trainer, pl_module):
            probe.reset()
            probe.sync()
            self._start = time.perf_counter()

        def on_train_epoch_end(self, trainer, pl_module):
            probe.sync()
            self.wall.append(time.perf_counter() - self._start)
            self.unet.append(probe.seconds["unet"])
            self.vae.append(probe.seconds["vae_encode"])
            self.occ.append(dict(probe.occ))

    return Recorder()


def run_size(prior, probe: Probe, args, render_size: int, occupancy: bool, device: torch.device) -> dict:
    from dreamsampler3d.config import build_config
    from dreamsampler3d.tasks.prepare import build_task
    from dreamsampler3d.tasks.runner import make_trainer

    total = args.warmup + args.steps
    with tempfile.TemporaryDirectory() as tmp:
        flags = {
            "prompt": args.prompt, "method": "dreamsampler", "render_size": render_size,
            "prior": {"model": "random-sd15"},  # not 'embedded': view prompts on, as for a real SD model
            "run": {"steps": total, "seed": 0, "out": tmp, "progress": False, "snapshot_every": 0,
                    "checkpoint_every": 0},
        }
        overrides = [f"nerf.occupancy_grid={str(occupancy).lower()}"] + list(args.overrides)
        cfg = build_config("text-to-3d", None, overrides, flags)
        module, _, _ = build_task("text-to-3d", cfg, prior, None)
        rec = step_recorder(probe)
        trainer = make_trainer(device, total, [rec], Path(tmp), progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        wall = time.perf_counter()
        trainer.fit(module)
        wall = time.perf_counter() - wall
        if not module.finished:
            raise RuntimeError("the run stopped before its last step")

    w = args.warmup
    step_s = module.step_seconds[w:]
    per_step = sum(step_s) / len(step_s)
    epoch_per_step = sum(rec.wall[w:]) / len(rec.wall[w:])
    o = module.options
    occ_sum = {k: sum(d[k] for d in rec.occ[w:]) for k in ("sampling_calls", "rays", "samples", "updates")}
    renderer = module.nerf._occupancy
    row = {
        "render_size": render_size, "model_input": prior.default_size,
        "latent": list(prior.latent_shape(prior.default_size, prior.default_size)),
        "views": o.views, "views_per_step": o.views_per_step, "inner_steps": o.inner_steps,
        "timed_steps": len(step_s), "warmup_steps": w,
        "s_per_sampler_step": per_step, "sampler_steps_per_s": 1.0 / per_step,
        "nerf_opt_steps_per_s": o.inner_steps / per_step, "epoch_s_per_step": epoch_per_step,
        "unet_s_per_step": sum(rec.unet[w:]) / len(step_s), "vae_encode_fwd_s_per_step": sum(rec.vae[w:]) / len(step_s),
        "wall_s_all_steps": wall,
        "occupancy_config": bool(module.nerf.config.occupancy_grid),
        "occupancy_used": renderer is not None and occ_sum["sampling_calls"] > 0,
        "occupancy_sampling_calls": occ_sum["sampling_calls"], "occupancy_updates": occ_sum["updates"],
        "samples_per_ray": (occ_sum["samples"] / occ_sum["rays"]) if occ_sum["rays"] else float(module.nerf.config.samples_per_ray),
        "occupied_fraction": float(renderer.estimator.binaries.float().mean()) if renderer is not None else None,
        "final_loss": float(module.last_logs.get("loss", float("nan"))),
    }
    if device.type == "cuda":
        row["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        row["weights_gib"] = before / 2**30
    row["loss_finite"] = math.isfinite(row["final_loss"])
    return row


# ---------------------------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="auto, cuda or cpu")
    ap.add_argument("--tiny", action="store_true", help="the tiny random sd1 pipeline of priors/tiny.py (smoke test)")
    ap.add_argument("--sample-size", type=int, default=64, help="UNet sample size (64: SD-1.5, 512x512 input)")
    ap.add_argument("--dtype", default="auto", help="prior.dtype: auto (fp16 on CUDA), fp32, fp16, bf16")
    ap.add_argument("--sizes", type=int, nargs="+", help="NeRF render sizes (default 64 128; --tiny: 16 32)")
    ap.add_argument("--steps", type=int, default=6, help="timed sampler steps per size")
    ap.add_argument("--warmup", type=int, default=2, help="untimed sampler steps first, per size")
    ap.add_argument("--no-occupancy", action="store_true", help="dense rendering on CUDA too")
    ap.add_argument("--prompt", default="a red apple")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", help="also write the rows here")
    ap.add_argument("overrides", nargs="*", help="text-to-3d key=value overrides (e.g. inner_steps=2)")
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps must be >= 1 and --warmup >= 0")
    sizes = args.sizes or ([16, 32] if args.tiny else [64, 128])
    if args.threads:
        torch.set_num_threads(args.threads)

    from dreamsampler3d.priors.diffusion_prior import resolve_device
    from dreamsampler3d.tasks.runner import quiet_libraries

    quiet_libraries()
    device = resolve_device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: CUDA is not available")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device {device} ({gpu}), torch {torch.__version__}, python {platform.python_version()}", flush=True)

    occupancy, occ_note = False, "off (CPU: dense rendering)"
    if device.type == "cuda":
        if args.no_occupancy:
            occ_note = "off (--no-occupancy)"
        else:
            occupancy, msg = occupancy_extension_ok()
            occ_note = f"nerfacc CUDA extension: {msg}"
            if not occupancy:
                occ_note += " -> FALLING BACK TO DENSE RENDERING"
    print(occ_note, flush=True)

    start = time.perf_counter()
    prior, label = make_prior(args, device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    built = time.perf_counter() - start
    print(f"prior: {label}; UNet {count(prior.unet):.4g}M ({prior.dtype}), VAE {count(prior.vae):.4g}M "
          f"({prior.vae_dtype}), text encoder {count(prior.pipe.text_encoder):.4g}M; model input "
          f"{prior.default_size}x{prior.default_size}; built in {built:.1f} s", flush=True)

    probe = Probe(prior, device)
    if occupancy:
        probe.patch_occupancy()
    rows = []
    for size in sizes:
        row = run_size(prior, probe, args, size, occupancy, device)
        rows.append(row)
        print(json.dumps({k: (round(v, 5) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)

    o = rows[0]
    print(f"\ntext-to-3d (DreamSampler, fixed views) on {gpu}, prior {label}, {o['views']} views, "
          f"{o['views_per_step']} per optimiser step, {o['inner_steps']} NeRF optimiser steps per sampler step; "
          f"{o['timed_steps']} timed sampler steps after {o['warmup_steps']} warm-up per size\n")
    print("| render | model input (latents) | sampler steps/s | NeRF opt steps/s | s / sampler step | UNet s/step "
          "| VAE enc fwd s/step | peak GPU mem (GiB) | occupancy grid | samples/ray | occupied cells | loss finite |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for r in rows:
        peak = f"{r['peak_gib']:.2f} (weights {r['weights_gib']:.2f})" if "peak_gib" in r else "n/a"
        used = (f"on ({r['occupancy_sampling_calls']} renders, {r['occupancy_updates']} updates)"
                if r["occupancy_used"] else ("configured but NOT used" if occupancy else "off"))
        occf = f"{r['occupied_fraction']:.1%}" if r["occupied_fraction"] is not None else "-"
        lat = "x".join(str(v) for v in r["latent"])
        print(f"| {r['render_size']}x{r['render_size']} | {r['model_input']}x{r['model_input']} ({lat}) | "
              f"{r['sampler_steps_per_s']:.2f} | {r['nerf_opt_steps_per_s']:.2f} | {r['s_per_sampler_step']:.3f} | "
              f"{r['unet_s_per_step']:.3f} | {r['vae_encode_fwd_s_per_step']:.3f} | {peak} | {used} | "
              f"{r['samples_per_ray']:.1f} | {occf} | {r['loss_finite']} |")
    print(f"\n{occ_note}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"device": gpu, "torch": torch.__version__, "prior": label,
                                               "occupancy": occ_note, "rows": rows}, indent=1))
    if occupancy and not all(r["occupancy_used"] for r in rows):
        sys.exit("the occupancy grid was configured but not used")


if __name__ == "__main__":
    main()
