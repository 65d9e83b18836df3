"""Train the embedded flat-icon prior (DESIGN 5) and save it in diffusers layout.

Phases, each resumable from files in --work: synthetic data cache -> AutoencoderKL ->
latent cache (sets the VAE scaling_factor to 1/std) -> text encoder + UNet with min-SNR
weighting, EMA and caption dropout -> StableDiffusionPipeline folder with a model card.

    python -m dreamsampler3d.priors.training.train_prior --out assets/icon-prior [--resume]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ...data.icons import render_scene, scene_from_seed
from ...data.vocab import MAX_LENGTH, load_tokenizer, save_tokenizer
from .models import (build_scheduler, build_text_encoder, build_unet, build_vae, n_params)

HOLDOUT = 512  # last images of the cache, only for the VAE PSNR


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train-prior", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="assets/icon-prior", help="diffusers folder to write")
    p.add_argument("--work", default=None, help="cache/checkpoint folder (default /tmp/...)")
    p.add_argument("--minutes", type=float, default=80.0, help="UNet training time budget")
    p.add_argument("--vae-minutes", type=float, default=12.0, help="VAE training time budget")
    p.add_argument("--decoder-minutes", type=float, default=10.0,
                   help="decoder-only fine-tune on the frozen latents")
    p.add_argument("--phase", choices=("all", "decoder"), default="all",
                   help="'decoder': stop after the decoder fine-tune (to run it alongside)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from --work checkpoints")
    p.add_argument("--n-images", type=int, default=40000, help="synthetic scenes to cache")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--export-minutes", type=float, default=15.0)
    return p.parse_args(argv)


# ---------------------------------------------------------------- phase 0: data

def make_data(work: Path, n: int, seed: int) -> tuple[torch.Tensor, list[str]]:
    """Render n seeded scenes once; uint8 [n, 64, 64, 3] plus captions, cached in work."""
    path = work / f"data_{seed}_{n}.pt"
    if path.exists():
        d = torch.load(path)
        return d["images"], d["captions"]
    images = np.zeros((n, 64, 64, 3), np.uint8)
    captions = []
    for i in tqdm(range(n), desc="render scenes", mininterval=10):
        scene = scene_from_seed(seed * 1_000_003 + i)
        images[i] = render_scene(scene)
        captions.append(scene.caption())
    imgs = torch.from_numpy(images)
    torch.save({"images": imgs, "captions": captions}, path)
    return imgs, captions


def to_model(x: torch.Tensor) -> torch.Tensor:
    """uint8 [B, 64, 64, 3] -> float [B, 3, 64, 64] in [-1, 1]."""
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


# ---------------------------------------------------------------- phase 1: VAE

def psnr(vae, images: torch.Tensor) -> float:
    """PSNR in dB of encode(mean) -> decode on uint8 images [B, 64, 64, 3]."""
    with torch.no_grad():
        x = to_model(images)  # [B, 3, 64, 64]
        y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
    mse = ((y - x) / 2).pow(2).mean().item()
    return 10 * math.log10(1.0 / max(mse, 1e-12))


def train_vae(work: Path, images: torch.Tensor, minutes: float, seed: int, resume: bool):
    """Reconstruction (MSE + L1) of the posterior mean with a tiny KL term; cached in work/vae.

    Decoding the mean rather than a posterior sample: with the sample, the initial unit noise
    drowned colours and 8 one-thread minutes reached only 20 dB PSNR.
    """
    from diffusers import AutoencoderKL

    stats_path = work / "vae_stats.json"
    if resume and stats_path.exists():
        return AutoencoderKL.from_pretrained(work / "vae"), json.loads(stats_path.read_text())
    torch.manual_seed(seed)
    vae, lr = build_vae(), 3e-3
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=1e-4)
    g = torch.Generator().manual_seed(seed + 1)
    train_n = len(images) - HOLDOUT
    t0, step = time.time(), 0
    bar = tqdm(desc="vae", mininterval=10)
    while time.time() - t0 < minutes * 60:
        idx = torch.randint(0, train_n, (16,), generator=g)
        x = to_model(images[idx])  # [16, 3, 64, 64]
        post = vae.encode(x).latent_dist
        y = vae.decode(post.mode()).sample
        # objects cover 5-30 % of a flat background: up-weight their pixels so colours come early
        obj = (x - x[:, :, :1, :1]).abs().amax(1, keepdim=True).gt(0.02)  # [16, 1, 64, 64]
        w = 1.0 + 9.0 * obj.float()
        err = y - x
        loss = (w * (err.pow(2) + 0.1 * err.abs())).mean() + 1e-6 * post.kl().mean()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, (time.time() - t0) / (minutes * 60), lr, warmup=50)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    vae.eval()
    stats = {"steps": step, "minutes": (time.time() - t0) / 60,
             "psnr_db": psnr(vae, images[-HOLDOUT:]), "batch": 16}
    vae.save_pretrained(work / "vae")
    stats_path.write_text(json.dumps(stats))
    print(f"VAE: {step} steps, held-out PSNR {stats['psnr_db']:.2f} dB", flush=True)
    return vae, stats


# ---------------------------------------------------------------- phase 2: latents

def encode_latents(work: Path, vae, images: torch.Tensor) -> torch.Tensor:
    """Posterior means of all images, scaled to unit std; scaling_factor stored in the VAE."""
    path = work / "latents.pt"
    if path.exists():
        d = torch.load(path)
        vae.register_to_config(scaling_factor=d["scaling_factor"])
        return d["latents"]
    chunks = []
    with torch.no_grad():
        for i in range(0, len(images), 256):
            chunks.append(vae.encode(to_model(images[i:i + 256])).latent_dist.mode())
    lat = torch.cat(chunks)  # [N, 4, 16, 16]
    scale = float(1.0 / lat.std())
    vae.register_to_config(scaling_factor=scale)
    torch.save({"latents": lat * scale, "scaling_factor": scale}, path)
    return lat * scale


def finetune_decoder(work: Path, vae, images: torch.Tensor, latents: torch.Tensor,
                     minutes: float, seed: int, resume: bool):
    """Train only post_quant_conv + decoder on the cached latents; the latent space (and so
    the UNet) is unchanged, but small shapes get sharper. Cached in work/vae_ft."""
    from diffusers import AutoencoderKL

    stats_path = work / "vae_ft_stats.json"
    done = {"steps": 0, "minutes": 0.0}
    if resume and stats_path.exists():
        ft = AutoencoderKL.from_pretrained(work / "vae_ft")
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
    g = torch.Generator().manual_seed(seed + 3)
    train_n = len(images) - HOLDOUT
    t0, step = time.time(), 0
    bar = tqdm(desc="decoder", mininterval=10)
    while time.time() - t0 < minutes * 60:
        idx = torch.randint(0, train_n, (16,), generator=g)
        x = to_model(images[idx])  # [16, 3, 64, 64]
        y = vae.decode(latents[idx] / scale).sample
        obj = (x - x[:, :, :1, :1]).abs().amax(1, keepdim=True).gt(0.02)  # [16, 1, 64, 64]
        err = y - x
        loss = ((1.0 + 9.0 * obj.float()) * (err.pow(2) + 0.1 * err.abs())).mean()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, (time.time() - t0) / (minutes * 60), 1e-3, warmup=20)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss.item():.4f}")
    bar.close()
    vae.eval().requires_grad_(False)
    stats = {"steps": done["steps"] + step, "minutes": done["minutes"] + (time.time() - t0) / 60,
             "psnr_db": psnr(vae, images[-HOLDOUT:]), "batch": 16}
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
        for e, p in zip(self.model.parameters(), modules.parameters()):
            e.mul_(d).add_(p.detach(), alpha=1 - d)


def lr_at(step: int, frac: float, base: float, warmup: int = 200) -> float:
    """Linear warm-up, then cosine over the time budget down to 10 %."""
    warm = min(1.0, (step + 1) / warmup)
    return base * warm * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def train_unet(args, work: Path, latents: torch.Tensor, ids: torch.Tensor,
               empty: torch.Tensor, tok, export_fn) -> dict:
    """Joint text-encoder + UNet training on cached latents [N, 4, 16, 16]."""
    torch.manual_seed(args.seed)
    te = build_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, MAX_LENGTH)
    unet = build_unet()
    modules = torch.nn.ModuleList([unet, te])
    opt = torch.optim.AdamW(modules.parameters(), lr=args.lr, weight_decay=1e-2)
    ema = Ema(modules)
    g = torch.Generator().manual_seed(args.seed + 2)
    step, elapsed = 0, 0.0
    ckpt = work / "unet_ckpt.pt"
    if args.resume and ckpt.exists():
        s = torch.load(ckpt, weights_only=False)
        modules.load_state_dict(s["modules"])
        ema.model.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        g.set_state(s["gen"])
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed UNet training at step {step}, {elapsed / 60:.1f} min done", flush=True)
    ac_all = build_scheduler().alphas_cumprod  # [1000]
    budget = args.minutes * 60
    train_n = len(latents) - HOLDOUT
    start, last_ckpt, last_export = time.time() - elapsed, time.time(), time.time()
    run_loss = None

    def save() -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"modules": modules.state_dict(), "ema": ema.model.state_dict(),
                    "opt": opt.state_dict(), "gen": g.get_state(), "step": step,
                    "elapsed": time.time() - start}, tmp)
        os.replace(tmp, ckpt)

    bar = tqdm(desc="unet", initial=step, mininterval=15)
    modules.train()
    while time.time() - start < budget:
        idx = torch.randint(0, train_n, (args.batch,), generator=g)
        x0 = latents[idx]  # [B, 4, 16, 16]
        cond = ids[idx].clone()  # [B, L]
        drop = torch.rand(args.batch, generator=g) < 0.1
        cond[drop] = empty  # caption dropout -> unconditional branch for CFG
        eps = torch.randn(x0.shape, generator=g)
        t = torch.randint(0, len(ac_all), (args.batch,), generator=g)
        ac = ac_all[t].view(-1, 1, 1, 1)  # [B, 1, 1, 1]
        xt = ac.sqrt() * x0 + (1 - ac).sqrt() * eps
        pred = unet(xt, t, te(cond)[0]).sample  # [B, 4, 16, 16]
        snr = (ac / (1 - ac)).view(-1)
        w = snr.clamp(max=5.0) / snr  # min-SNR-5 weights for epsilon prediction
        loss = (w * (pred - eps).pow(2).mean(dim=(1, 2, 3))).mean()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, (time.time() - start) / budget, args.lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(modules.parameters(), 1.0)
        opt.step()
        ema.update(modules, step)
        step += 1
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        bar.update(1)
        bar.set_postfix(loss=f"{run_loss:.4f}", min=f"{(time.time() - start) / 60:.1f}")
        if time.time() - last_ckpt > args.checkpoint_minutes * 60:
            save()
            last_ckpt = time.time()
        if time.time() - last_export > args.export_minutes * 60:
            export_fn(ema.model, {"unet_steps": step, "unet_minutes": (time.time() - start) / 60})
            last_export = time.time()
    bar.close()
    save()
    return {"model": ema.model, "unet_steps": step, "unet_minutes": (time.time() - start) / 60}


# ---------------------------------------------------------------- export

def export(out: Path, vae, ema_modules, tok_dir: Path, info: dict) -> None:
    """Write a StableDiffusionPipeline folder (no safety checker) plus README.md atomically."""
    from diffusers import StableDiffusionPipeline

    from .card import write_card

    unet, te = ema_modules[0], ema_modules[1]
    pipe = StableDiffusionPipeline(
        vae=vae, text_encoder=te, tokenizer=load_tokenizer(tok_dir), unet=unet,
        scheduler=build_scheduler(), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    pipe.save_pretrained(tmp, safe_serialization=True)
    for name in ("vocab.json", "merges.txt"):  # for slow CLIPTokenizer / transformers 4.x
        shutil.copy(tok_dir / name, tmp / "tokenizer" / name)
    info = dict(info, unet_params=n_params(unet), text_params=n_params(te), vae_params=n_params(vae))
    (tmp / "training_info.json").write_text(json.dumps(info, indent=1))
    write_card(tmp, info)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    print(f"exported {out} at UNet step {info.get('unet_steps')}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    out = Path(args.out).resolve()
    work = Path(args.work or f"/tmp/dreamsampler3d-prior-work-{args.seed}")
    work.mkdir(parents=True, exist_ok=True)
    images, captions = make_data(work, args.n_images, args.seed)
    vae, vae_stats = train_vae(work, images, args.vae_minutes, args.seed, args.resume)
    vae.eval().requires_grad_(False)
    latents = encode_latents(work, vae, images)  # [N, 4, 16, 16], unit std
    vae, dec_stats = finetune_decoder(work, vae, images, latents, args.decoder_minutes,
                                      args.seed, args.resume)
    if args.phase == "decoder":
        return 0
    tok_dir = save_tokenizer(work / "tokenizer")
    tok = load_tokenizer(tok_dir)
    enc = tok(captions, padding="max_length", max_length=MAX_LENGTH, truncation=True,
              return_tensors="pt")
    empty = tok([""], padding="max_length", max_length=MAX_LENGTH, return_tensors="pt").input_ids[0]
    base = {"seed": args.seed, "n_images": args.n_images, "batch": args.batch, "lr": args.lr,
            "threads": args.threads, "vae": vae_stats, "decoder_finetune": dec_stats,
            "scaling_factor": float(vae.config.scaling_factor)}

    def export_fn(ema_modules, info: dict) -> None:
        export(out, vae, ema_modules, tok_dir, dict(base, **info))

    res = train_unet(args, work, latents, enc.input_ids, empty, tok, export_fn)
    export_fn(res["model"], {"unet_steps": res["unet_steps"], "unet_minutes": res["unet_minutes"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
