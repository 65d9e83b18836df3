"""Train the embedded flat-icon prior (docs/prior.md) and save it in diffusers layout.

Phases, each resumable from files in --work: synthetic data cache -> AutoencoderKL ->
latent cache (sets the VAE scaling_factor to 1/std) -> decoder fine-tune -> text encoder +
UNet with min-SNR weighting, EMA and caption dropout -> StableDiffusionPipeline folder with a
model card. Runs on a CPU (defaults) or a GPU (`--device cuda`, larger batches).

    python -m dreamsampler3d.priors.training.train_prior --out outputs/icon-prior [--resume]
"""

from __future__ import annotations

import argparse
import copy
import json
import lzma
import math
import os
import pickle
import random
import shutil
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from ...data.icons import render_scene, scene_from_seed
from ...data.vocab import MAX_LENGTH, load_tokenizer, save_tokenizer
from ...io.files import atomic_file, atomic_folder
from .models import (build_scheduler, build_text_encoder, build_unet, build_vae, n_params)

HOLDOUT = 512  # last images of the cache, only for the VAE PSNR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train-prior", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="outputs/icon-prior", help="diffusers folder to write (the shipped prior is src/dreamsampler3d/assets/icon-prior)")
    p.add_argument("--work", default=None, help="cache/checkpoint folder (default /tmp/...)")
    p.add_argument("--minutes", type=float, default=70.0, help="UNet training time budget")
    p.add_argument("--vae-minutes", type=float, default=10.0, help="VAE training time budget")
    p.add_argument("--decoder-minutes", type=float, default=5.0,
                   help="decoder-only fine-tune on the frozen latents")
    p.add_argument("--phase", choices=("all", "data", "decoder"), default="all",
                   help="'data': stop after the data cache; 'decoder': after the decoder fine-tune")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from --work checkpoints")
    p.add_argument("--n-images", type=int, default=80000, help="synthetic scenes to cache")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes rendering the data cache")
    p.add_argument("--batch", type=int, default=32, help="UNet batch (a GPU takes 512)")
    p.add_argument("--vae-batch", type=int, default=16, help="autoencoder batch (a GPU takes 64)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--export-minutes", type=float, default=15.0)
    return p.parse_args(argv)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ---------------------------------------------------------------- phase 0: data

def _render(i: int, seed: int) -> tuple[np.ndarray, str]:
    scene = scene_from_seed(seed * 1_000_003 + i)
    return render_scene(scene), scene.caption()


def _render_chunk(args: tuple[int, int, int]) -> tuple[np.ndarray, list[str]]:
    lo, hi, seed = args
    pairs = [_render(i, seed) for i in range(lo, hi)]
    return np.stack([p[0] for p in pairs]), [p[1] for p in pairs]


def make_data(work: Path, n: int, seed: int, workers: int = 1) -> tuple[torch.Tensor, list[str]]:
    """Render n seeded scenes once: uint8 [n, 64, 64, 3] plus captions.

    Cached in work as an lzma pickle (~0.33 kB a scene, so 80k scenes are ~26 MB and can be
    carried to another machine); image i is the same bytes whatever the worker count.
    """
    path = work / f"data_{seed}_{n}.pkl.xz"
    if path.exists():
        with lzma.open(path, "rb") as f:
            d = pickle.load(f)
        return torch.from_numpy(d["images"]), d["captions"]
    chunks = [(lo, min(lo + 250, n), seed) for lo in range(0, n, 250)]
    images, captions = np.zeros((n, 64, 64, 3), np.uint8), []
    bar = tqdm(total=n, desc="render scenes", mininterval=10)
    pool = get_context("spawn").Pool(workers) if workers > 1 else None  # spawn: no forked torch
    for (lo, hi, _), (ims, caps) in zip(chunks, (pool.imap if pool else map)(_render_chunk, chunks)):
        images[lo:hi] = ims
        captions += caps
        bar.update(hi - lo)
    if pool:
        pool.close()
    bar.close()
    def write(tmp: Path) -> None:
        with lzma.open(tmp, "wb") as f:
            pickle.dump({"images": images, "captions": captions}, f, protocol=4)

    atomic_file(path, write)
    return torch.from_numpy(images), captions


def to_model(x: torch.Tensor) -> torch.Tensor:
    """uint8 [B, 64, 64, 3] -> float [B, 3, 64, 64] in [-1, 1]."""
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def encode_captions(work: Path, captions: list[str], tok, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids [N, L] of every caption and of the empty caption [L], cached in work beside the data."""
    path = work / f"ids_{seed}_{len(captions)}.pt"
    if path.exists():
        d = torch.load(path, weights_only=True)
        return d["ids"], d["empty"]
    ids = tok(captions, padding="max_length", max_length=MAX_LENGTH, truncation=True,
              return_tensors="pt").input_ids
    empty = tok([""], padding="max_length", max_length=MAX_LENGTH, return_tensors="pt").input_ids[0]
    torch.save({"ids": ids, "empty": empty}, path)
    return ids, empty


# ---------------------------------------------------------------- shared optimisation loop

def lr_at(step: int, frac: float, base: float, warmup: int = 200) -> float:
    """Linear warm-up, then cosine over the time budget down to 10 %."""
    warm = min(1.0, (step + 1) / warmup)
    return base * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def fit(params: list[torch.nn.Parameter], loss_fn: Callable[[], torch.Tensor], opt,
        minutes: float, lr: float, warmup: int, desc: str, step: int = 0, elapsed: float = 0.0,
        on_step: Callable[[int, float], None] | None = None, log_every: int = 25) -> int:
    """Time-budgeted AdamW loop with warm-up + cosine lr and gradient clipping; returns steps.

    The loss is read back (a device sync) only every `log_every` steps, so a GPU stays busy.
    `on_step(step, elapsed_seconds)` runs after each update (EMA, checkpoints).
    """
    budget = minutes * 60
    start = time.time() - elapsed
    bar = tqdm(desc=desc, initial=step, mininterval=15)
    run_loss = None
    while time.time() - start < budget:
        loss = loss_fn()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, (time.time() - start) / budget, lr, warmup)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        if on_step is not None:
            on_step(step, time.time() - start)
        if step % log_every == 0:
            run_loss = loss.item() if run_loss is None else 0.9 * run_loss + 0.1 * loss.item()
            bar.update(log_every)
            bar.set_postfix(loss=f"{run_loss:.4f}", min=f"{(time.time() - start) / 60:.1f}")
    bar.close()
    return step


# ---------------------------------------------------------------- phase 1: VAE

def psnr(vae, images: torch.Tensor) -> float:
    """PSNR in dB of encode(mean) -> decode on uint8 images [B, 64, 64, 3]."""
    with torch.no_grad():
        x = to_model(images)  # [B, 3, 64, 64]
        y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
    mse = ((y - x) / 2).pow(2).mean().item()
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def recon_loss(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """MSE + 0.1 L1 with object pixels weighted 10x: objects cover 5-30 % of a flat
    background, and without the weight colours of small objects come late."""
    obj = (x - x[:, :, :1, :1]).abs().amax(1, keepdim=True).gt(0.02)  # [B, 1, 64, 64]
    err = y - x
    return ((1.0 + 9.0 * obj.float()) * (err.pow(2) + 0.1 * err.abs())).mean()


def train_vae(args, work: Path, images: torch.Tensor):
    """Reconstruction of the posterior mean with a tiny KL term; cached in work/vae.

    Decoding the mean rather than a posterior sample: with the sample, the initial unit noise
    drowned colours and 8 one-thread minutes reached only 20 dB PSNR.
    """
    from diffusers import AutoencoderKL

    stats_path = work / "vae_stats.json"
    if args.resume and stats_path.exists():
        vae = AutoencoderKL.from_pretrained(work / "vae").to(images.device)
        return vae, json.loads(stats_path.read_text())
    torch.manual_seed(args.seed)
    vae = build_vae().to(images.device)
    opt = torch.optim.AdamW(vae.parameters(), lr=3e-3, weight_decay=1e-4)
    g = torch.Generator(images.device).manual_seed(args.seed + 1)
    train_n = len(images) - HOLDOUT

    def loss_fn() -> torch.Tensor:
        idx = torch.randint(0, train_n, (args.vae_batch,), generator=g, device=images.device)
        x = to_model(images[idx])  # [B, 3, 64, 64]
        post = vae.encode(x).latent_dist
        return recon_loss(vae.decode(post.mode()).sample, x) + 1e-6 * post.kl().mean()

    t0 = time.time()
    steps = fit(list(vae.parameters()), loss_fn, opt, args.vae_minutes, 3e-3, 50, "vae")
    vae.eval()
    stats = {"steps": steps, "minutes": (time.time() - t0) / 60,
             "psnr_db": psnr(vae, images[-HOLDOUT:]), "batch": args.vae_batch}
    vae.save_pretrained(work / "vae")
    stats_path.write_text(json.dumps(stats))
    print(f"VAE: {steps} steps, held-out PSNR {stats['psnr_db']:.2f} dB", flush=True)
    return vae, stats


# ---------------------------------------------------------------- phase 2: latents

def encode_latents(work: Path, vae, images: torch.Tensor) -> torch.Tensor:
    """Posterior means of all images [N, 4, 16, 16], scaled to unit std; the scaling_factor
    is stored in the VAE config. Cached in work (on the CPU)."""
    path = work / "latents.pt"
    if path.exists():
        d = torch.load(path, weights_only=True)
        vae.register_to_config(scaling_factor=d["scaling_factor"])
        return d["latents"].to(images.device)
    chunks = []
    with torch.no_grad():
        for i in range(0, len(images), 1024):
            chunks.append(vae.encode(to_model(images[i:i + 1024])).latent_dist.mode())
    lat = torch.cat(chunks)  # [N, 4, 16, 16]
    scale = float(1.0 / lat.std())
    vae.register_to_config(scaling_factor=scale)
    torch.save({"latents": (lat * scale).cpu(), "scaling_factor": scale}, path)
    return lat * scale


def finetune_decoder(args, work: Path, vae, images: torch.Tensor, latents: torch.Tensor):
    """Train only post_quant_conv + decoder on the cached latents; the latent space (and so
    the UNet) is unchanged, but small shapes get sharper. Cached in work/vae_ft."""
    from diffusers import AutoencoderKL

    stats_path = work / "vae_ft_stats.json"
    done = {"steps": 0, "minutes": 0.0}
    minutes = args.decoder_minutes
    if args.resume and stats_path.exists():
        ft = AutoencoderKL.from_pretrained(work / "vae_ft").to(images.device)
        done = json.loads(stats_path.read_text())
        if done["minutes"] >= minutes - 0.5:
            return ft.eval().requires_grad_(False), done
        vae, minutes = ft, minutes - done["minutes"]  # budget raised: continue for the rest
        print(f"continuing decoder fine-tune for {minutes:.1f} min", flush=True)
    scale = float(vae.config.scaling_factor)
    params = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    vae.requires_grad_(False)
    for prm in params:
        prm.requires_grad_(True)
    opt = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    g = torch.Generator(images.device).manual_seed(args.seed + 3)
    train_n = len(images) - HOLDOUT

    def loss_fn() -> torch.Tensor:
        idx = torch.randint(0, train_n, (args.vae_batch,), generator=g, device=images.device)
        return recon_loss(vae.decode(latents[idx] / scale).sample, to_model(images[idx]))

    t0 = time.time()
    steps = fit(params, loss_fn, opt, minutes, 1e-3, 20, "decoder")
    vae.eval().requires_grad_(False)
    stats = {"steps": done["steps"] + steps, "minutes": done["minutes"] + (time.time() - t0) / 60,
             "psnr_db": psnr(vae, images[-HOLDOUT:]), "batch": args.vae_batch}
    vae.save_pretrained(work / "vae_ft")
    stats_path.write_text(json.dumps(stats))
    print(f"decoder fine-tune: {stats['steps']} steps, held-out PSNR {stats['psnr_db']:.2f} dB", flush=True)
    return vae, stats


# ---------------------------------------------------------------- phase 3: UNet

class Ema:
    """Exponential moving average of (unet, text encoder) weights, warm-started."""

    def __init__(self, modules: torch.nn.ModuleList, decay: float = 0.999):
        self.model = copy.deepcopy(modules).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, modules: torch.nn.ModuleList, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        torch._foreach_lerp_(list(self.model.parameters()),
                             [p.detach() for p in modules.parameters()], 1 - d)


def train_unet(args, work: Path, latents: torch.Tensor, ids: torch.Tensor,
               empty: torch.Tensor, tok, export_fn) -> dict:
    """Joint text-encoder + UNet training on latents [N, 4, 16, 16] (all on one device)."""
    device = latents.device
    torch.manual_seed(args.seed)
    te = build_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, MAX_LENGTH)
    modules = torch.nn.ModuleList([build_unet(), te]).to(device)
    opt = torch.optim.AdamW(modules.parameters(), lr=args.lr, weight_decay=1e-2)
    ema = Ema(modules)
    g = torch.Generator(device).manual_seed(args.seed + 2)
    step, elapsed = 0, 0.0
    ckpt = work / "unet_ckpt.pt"
    if args.resume and ckpt.exists():
        s = torch.load(ckpt, weights_only=True, map_location=device)  # tensors and numbers only: never runs code
        modules.load_state_dict(s["modules"])
        ema.model.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        g.set_state(s["gen"].cpu())
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed UNet training at step {step}, {elapsed / 60:.1f} min done", flush=True)
    ac_all = build_scheduler().alphas_cumprod.to(device)  # [1000]
    train_n = len(latents) - HOLDOUT
    marks = {"ckpt": time.time(), "export": time.time(), "elapsed": elapsed}

    def save(step: int) -> None:
        state = {"modules": modules.state_dict(), "ema": ema.model.state_dict(), "opt": opt.state_dict(),
                 "gen": g.get_state(), "step": step, "elapsed": marks["elapsed"]}
        atomic_file(ckpt, lambda tmp: torch.save(state, tmp))

    def loss_fn() -> torch.Tensor:
        idx = torch.randint(0, train_n, (args.batch,), generator=g, device=device)
        x0 = latents[idx]  # [B, 4, 16, 16]
        drop = torch.rand(args.batch, generator=g, device=device) < 0.1
        cond = torch.where(drop[:, None], empty[None], ids[idx])  # [B, L]; dropout -> CFG branch
        eps = torch.randn(x0.shape, generator=g, device=device)
        t = torch.randint(0, len(ac_all), (args.batch,), generator=g, device=device)
        ac = ac_all[t].view(-1, 1, 1, 1)  # [B, 1, 1, 1]
        xt = ac.sqrt() * x0 + (1 - ac).sqrt() * eps
        pred = modules[0](xt, t, te(cond)[0]).sample  # [B, 4, 16, 16]
        snr = (ac / (1 - ac)).view(-1)
        w = snr.clamp(max=5.0) / snr  # min-SNR-5 weights for epsilon prediction
        return (w * (pred - eps).pow(2).mean(dim=(1, 2, 3))).mean()

    def on_step(step: int, seconds: float) -> None:
        ema.update(modules, step - 1)
        marks["elapsed"] = seconds
        if time.time() - marks["ckpt"] > args.checkpoint_minutes * 60:
            save(step)
            marks["ckpt"] = time.time()
        if time.time() - marks["export"] > args.export_minutes * 60:
            export_fn(ema.model, {"unet_steps": step, "unet_minutes": seconds / 60})
            marks["export"] = time.time()

    modules.train()
    step = fit(list(modules.parameters()), loss_fn, opt, args.minutes, args.lr, 200, "unet",
               step, elapsed, on_step)
    save(step)
    return {"model": ema.model, "unet_steps": step, "unet_minutes": marks["elapsed"] / 60}


# ---------------------------------------------------------------- export

def export(out: Path, vae, ema_modules, tok_dir: Path, info: dict) -> None:
    """Write a StableDiffusionPipeline folder (no safety checker) plus README.md atomically."""
    from diffusers import StableDiffusionPipeline

    from .card import write_card

    unet, te = (copy.deepcopy(m).cpu() for m in ema_modules)
    pipe = StableDiffusionPipeline(
        vae=copy.deepcopy(vae).cpu(), text_encoder=te, tokenizer=load_tokenizer(tok_dir), unet=unet,
        scheduler=build_scheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    info = dict(info, unet_params=n_params(unet), text_params=n_params(te), vae_params=n_params(vae))

    def write(tmp: Path) -> None:
        pipe.save_pretrained(tmp, safe_serialization=True)
        for name in ("vocab.json", "merges.txt"):  # for slow CLIPTokenizer / transformers 4.x
            shutil.copy(tok_dir / name, tmp / "tokenizer" / name)
        (tmp / "training_info.json").write_text(json.dumps(info, indent=1))
        write_card(tmp, info)

    atomic_folder(out, write)
    print(f"exported {out} at UNet step {info.get('unet_steps')}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    random.seed(args.seed)
    device = pick_device(args.device)
    out = Path(args.out).resolve()
    work = Path(args.work or f"/tmp/dreamsampler3d-prior-work-{args.seed}")
    work.mkdir(parents=True, exist_ok=True)
    images, captions = make_data(work, args.n_images, args.seed, args.workers)
    if args.phase == "data":
        return 0
    images = images.to(device)
    vae, vae_stats = train_vae(args, work, images)
    vae.eval().requires_grad_(False)
    latents = encode_latents(work, vae, images)  # [N, 4, 16, 16], unit std
    vae, dec_stats = finetune_decoder(args, work, vae, images, latents)
    if args.phase == "decoder":
        return 0
    del images
    tok_dir = save_tokenizer(work / "tokenizer")
    tok = load_tokenizer(tok_dir)
    ids, empty = encode_captions(work, captions, tok, args.seed)
    base = {"seed": args.seed, "n_images": args.n_images, "batch": args.batch, "lr": args.lr,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU",
            "threads": args.threads, "vae": vae_stats, "decoder_finetune": dec_stats,
            "scaling_factor": float(vae.config.scaling_factor)}

    def export_fn(ema_modules, info: dict) -> None:
        export(out, vae, ema_modules, tok_dir, dict(base, **info))

    res = train_unet(args, work, latents, ids.to(device), empty.to(device), tok, export_fn)
    export_fn(res["model"], {"unet_steps": res["unet_steps"], "unet_minutes": res["unet_minutes"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
