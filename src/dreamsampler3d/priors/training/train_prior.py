"""Train an embedded prior (docs/prior.md): the flat-icon prior, or with --views N --shape-fraction 0 the 3D-object
prior, and save it in diffusers layout.

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
import math
import os
import random
import shutil
import time
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from ...data.vocab import MAX_LENGTH, load_tokenizer, save_tokenizer
from ...data.vocab import caption_words as grammar_words
from ...io.files import atomic_file, atomic_folder
from ...data.icon_sets import cache_root
from ...errors import UserError
from .data import (ConceptData, MixedBatches, caption_words, concept_drawings, load_tensors, shape_scenes,
                   view_drawings)
from .models import (build_scheduler, build_text_encoder, build_unet, build_vae, n_params)

HOLDOUT = 512  # last images of the cache, only for the VAE PSNR


def default_work(seed: int) -> Path:
    """The work folder when --work is not given: in the user's cache, never the shared temporary directory."""
    return cache_root() / f"prior-work-{seed}"


def load_autoencoder(folder: Path):
    """An autoencoder cached in the work folder (work/vae, work/vae_ft), read from safetensors only: a pickled
    diffusion_pytorch_model.bin put in its place is refused, never unpickled."""
    from diffusers import AutoencoderKL

    return AutoencoderKL.from_pretrained(folder, use_safetensors=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="train-prior", description=__doc__.splitlines()[0])
    p.add_argument("--out", default="outputs/icon-prior", help="diffusers folder to write (the shipped prior is src/dreamsampler3d/assets/icon-prior)")
    p.add_argument("--work", default=None,
                   help="cache/checkpoint folder (default $DREAMSAMPLER3D_CACHE/prior-work-SEED, "
                        "~/.cache/dreamsampler3d/prior-work-SEED without it)")
    p.add_argument("--concepts", action=argparse.BooleanOptionalAction, default=True,
                   help="train on the open emoji sets' concepts beside the shape scenes (fetched once)")
    p.add_argument("--shape-fraction", type=float, default=0.3, help="share of each batch from shape scenes")
    p.add_argument("--views", type=int, default=0,
                   help="also train on this many captioned views of 3D objects ('a red cube, side view'), drawn "
                        "with the concept drawings (text-to-3D's view-dependent prompts; 0: none)")
    p.add_argument("--init", default=None,
                   help="warm start from this prior folder (VAE, UNet, text encoder where the words agree)")
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
    p.add_argument("--half-unet", action="store_true",
                   help="export the UNet's weights in fp16 (half the size; loaded back as fp32, noise predictions "
                        "agreed to 2.4e-4 relative on the 3D-object prior)")
    p.add_argument("--halve", metavar="FOLDER", default=None,
                   help="only store an exported prior's UNet in fp16, in place, and exit")
    p.add_argument("--export-minutes", type=float, default=15.0)
    return p.parse_args(argv)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


# ---------------------------------------------------------------- phase 0: data

def to_model(x: torch.Tensor) -> torch.Tensor:
    """uint8 [B, 64, 64, 3] -> float [B, 3, 64, 64] in [-1, 1]."""
    return x.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def work_tokenizer(work: Path, words: list[str]) -> Path:
    """The run's tokenizer, built once and kept in the work folder. The cached caption ids, and so the trained
    embedding rows, are in its ids, and the BPE trainer gives other ids in another process (its order of tied
    merges varies): a resumed run that rebuilt it would export a tokenizer that sends words to other words' rows."""
    folder = work / "tokenizer"
    if not (folder / "vocab.json").is_file():
        atomic_folder(folder, lambda tmp: save_tokenizer(tmp, words=words))
    tok = load_tokenizer(folder)
    split = [w for w in words if len(tok.tokenize(w)) != 1]
    if split:
        raise UserError(f"{folder}: made for other captions ({len(split)} of their words, e.g. {split[0]!r}, are not "
                        "one token); use a new --work folder")
    return folder


def encode_captions(work: Path, name: str, captions: list[str], tok) -> torch.Tensor:
    """Token ids [N, L] of a caption list, cached in work under `name`; a cache another tokenizer wrote (a sample
    is re-encoded) is refused."""
    path = work / f"ids_{name}.pt"
    if path.exists():
        ids = load_tensors(path)
        sample = list(range(0, len(captions), 97))
        fresh = tok([captions[i] for i in sample], padding="max_length", max_length=ids.shape[-1], truncation=True,
                    return_tensors="pt").input_ids if len(ids) == len(captions) else None
        if fresh is None or not torch.equal(fresh, ids[sample]):
            raise UserError(f"{path}: caption ids another tokenizer (or other captions) gave, not "
                            f"{work / 'tokenizer'}'s; use a new --work folder")
        return ids
    ids = tok(captions, padding="max_length", max_length=MAX_LENGTH, truncation=True,
              return_tensors="pt").input_ids
    torch.save(ids, path)
    return ids


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

class ImagePool:
    """Shape scenes [0, n_shapes) then concept drawings, uint8 [N, 64, 64, 3] on one device; `pick` draws
    training indices at the batch mix, keeping the last HOLDOUT shape scenes out for the PSNR check."""

    def __init__(self, shapes: torch.Tensor, concepts: torch.Tensor, shape_fraction: float):
        self.images = torch.cat([shapes, concepts])
        self.n_shapes, self.n_concepts = len(shapes), len(concepts)
        self.fraction = shape_fraction if self.n_concepts else 1.0

    def pick(self, batch: int, g: torch.Generator) -> torch.Tensor:
        device = self.images.device
        n_shape = round(batch * self.fraction)
        i = torch.randint(0, self.n_shapes - HOLDOUT, (n_shape,), generator=g, device=device)
        j = self.n_shapes + torch.randint(0, max(self.n_concepts, 1), (batch - n_shape,), generator=g,
                                          device=device)
        return torch.cat([i, j])

    def psnr(self, vae) -> dict[str, float]:
        """Held-out shape scenes, and every 16th concept drawing (seen in training: a fit check)."""
        out = {"psnr_db": psnr(vae, self.images[self.n_shapes - HOLDOUT:self.n_shapes])}
        if self.n_concepts:
            out["concept_psnr_db"] = psnr(vae, self.images[self.n_shapes::16][:1024])
        return out


def psnr(vae, images: torch.Tensor) -> float:
    """PSNR in dB of encode(mean) -> decode on uint8 images [B, 64, 64, 3]."""
    mse, n = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(images), 256):
            x = to_model(images[k:k + 256])  # [b, 3, 64, 64]
            y = vae.decode(vae.encode(x).latent_dist.mode()).sample.clamp(-1, 1)
            mse += ((y - x) / 2).pow(2).mean().item() * len(x)
            n += len(x)
    return 10 * math.log10(1.0 / max(mse / n, 1e-12))


def recon_loss(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """MSE + 0.1 L1 with object pixels weighted 10x: objects cover 5-30 % of a flat
    background, and without the weight colours of small objects come late."""
    obj = (x - x[:, :, :1, :1]).abs().amax(1, keepdim=True).gt(0.02)  # [B, 1, 64, 64]
    err = y - x
    return ((1.0 + 9.0 * obj.float()) * (err.pow(2) + 0.1 * err.abs())).mean()


def train_vae(args, work: Path, pool: ImagePool):
    """Reconstruction of the posterior mean with a tiny KL term; cached in work/vae.

    Decoding the mean rather than a posterior sample: with the sample, the initial unit noise
    drowned colours and 8 one-thread minutes reached only 20 dB PSNR.
    """
    from diffusers import AutoencoderKL

    stats_path = work / "vae_stats.json"
    device = pool.images.device
    if args.resume and stats_path.exists():
        vae = load_autoencoder(work / "vae").to(device)
        return vae, json.loads(stats_path.read_text())
    torch.manual_seed(args.seed)
    vae = AutoencoderKL.from_pretrained(Path(args.init) / "vae") if args.init else build_vae()
    vae = vae.to(device).train()
    opt = torch.optim.AdamW(vae.parameters(), lr=3e-3, weight_decay=1e-4)
    g = torch.Generator(device).manual_seed(args.seed + 1)

    def loss_fn() -> torch.Tensor:
        x = to_model(pool.images[pool.pick(args.vae_batch, g)])  # [B, 3, 64, 64]
        post = vae.encode(x).latent_dist
        return recon_loss(vae.decode(post.mode()).sample, x) + 1e-6 * post.kl().mean()

    t0 = time.time()
    steps = fit(list(vae.parameters()), loss_fn, opt, args.vae_minutes, 3e-3, 50, "vae")
    vae.eval()
    stats = {"steps": steps, "minutes": (time.time() - t0) / 60, **pool.psnr(vae), "batch": args.vae_batch}
    vae.save_pretrained(work / "vae", safe_serialization=True)
    stats_path.write_text(json.dumps(stats))
    print(f"VAE: {steps} steps, {stats}", flush=True)
    return vae, stats


# ---------------------------------------------------------------- phase 2: latents

def encode_latents(work: Path, vae, images: torch.Tensor) -> torch.Tensor:
    """Posterior means of all images [N, 4, 16, 16], scaled to unit std; the scaling_factor
    is stored in the VAE config. Cached in work (on the CPU)."""
    path = work / "latents.pt"
    if path.exists():
        d = load_tensors(path)
        if len(d["latents"]) != len(images):
            raise UserError(f"{path}: holds {len(d['latents'])} latents, this run has {len(images)} images (other "
                            "data flags than the run that wrote it); use a new --work folder")
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


def finetune_decoder(args, work: Path, vae, pool: ImagePool, latents: torch.Tensor):
    """Train only post_quant_conv + decoder on the cached latents; the latent space (and so
    the UNet) is unchanged, but small shapes get sharper. Cached in work/vae_ft."""
    stats_path = work / "vae_ft_stats.json"
    device = pool.images.device
    done = {"steps": 0, "minutes": 0.0}
    minutes = args.decoder_minutes
    if args.resume and stats_path.exists():
        ft = load_autoencoder(work / "vae_ft").to(device)
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
    g = torch.Generator(device).manual_seed(args.seed + 3)

    def loss_fn() -> torch.Tensor:
        idx = pool.pick(args.vae_batch, g)
        return recon_loss(vae.decode(latents[idx] / scale).sample, to_model(pool.images[idx]))

    t0 = time.time()
    steps = fit(params, loss_fn, opt, minutes, 1e-3, 20, "decoder")
    vae.eval().requires_grad_(False)
    stats = {"steps": done["steps"] + steps, "minutes": done["minutes"] + (time.time() - t0) / 60,
             **pool.psnr(vae), "batch": args.vae_batch}
    vae.save_pretrained(work / "vae_ft", safe_serialization=True)
    stats_path.write_text(json.dumps(stats))
    print(f"decoder fine-tune: {stats}", flush=True)
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


def warm_start(unet, te, tok, folder: Path) -> None:
    """Copy a previous prior's UNet and text encoder into the new ones: every weight whose shape agrees, and
    the token embedding of each token both vocabularies hold (new words start from their random init)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel

    unet.load_state_dict(UNet2DConditionModel.from_pretrained(folder / "unet").state_dict())
    old_te = CLIPTextModel.from_pretrained(folder / "text_encoder")
    old_vocab = json.loads((folder / "tokenizer" / "vocab.json").read_text(encoding="utf-8"))
    state, old = te.state_dict(), old_te.state_dict()
    key = "embeddings.token_embedding.weight"
    for name, value in old.items():
        if name != key and name in state and state[name].shape == value.shape:
            state[name] = value
    new_vocab = tok.get_vocab()
    for word, i in old_vocab.items():
        if word in new_vocab:
            state[key][new_vocab[word]] = old[key][i]
    te.load_state_dict(state)


def train_unet(args, work: Path, batches: MixedBatches, tok, export_fn) -> dict:
    """Joint text-encoder + UNet training on unit-std latents (all on one device)."""
    device = batches.shape_latents.device
    torch.manual_seed(args.seed)
    unet = build_unet()
    te = build_text_encoder(len(tok), tok.bos_token_id, tok.eos_token_id, MAX_LENGTH)
    if args.init:
        warm_start(unet, te, tok, Path(args.init))
    modules = torch.nn.ModuleList([unet, te]).to(device)
    opt = torch.optim.AdamW(modules.parameters(), lr=args.lr, weight_decay=1e-2)
    ema = Ema(modules)
    g = torch.Generator(device).manual_seed(args.seed + 2)
    step, elapsed = 0, 0.0
    ckpt = work / "unet_ckpt.pt"
    if args.resume and ckpt.exists():
        s = load_tensors(ckpt, map_location=device)  # tensors and numbers only: never runs code
        modules.load_state_dict(s["modules"])
        ema.model.load_state_dict(s["ema"])
        opt.load_state_dict(s["opt"])
        g.set_state(s["gen"].cpu())
        step, elapsed = s["step"], s["elapsed"]
        print(f"resumed UNet training at step {step}, {elapsed / 60:.1f} min done", flush=True)
    ac_all = build_scheduler().alphas_cumprod.to(device)  # [1000]
    marks = {"ckpt": time.time(), "export": time.time(), "elapsed": elapsed}

    def save(step: int) -> None:
        state = {"modules": modules.state_dict(), "ema": ema.model.state_dict(), "opt": opt.state_dict(),
                 "gen": g.get_state(), "step": step, "elapsed": marks["elapsed"]}
        atomic_file(ckpt, lambda tmp: torch.save(state, tmp))

    def loss_fn() -> torch.Tensor:
        x0, cond = batches.sample(args.batch, g)  # [B, 4, 16, 16], [B, L] (10 % "" for CFG)
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

def halve_unet(folder: Path) -> None:
    """Store a prior's UNet weights in fp16 (what ships in the wheel for a second model); loading casts them
    back to the pipeline's dtype. training_info.json records it."""
    from diffusers import UNet2DConditionModel

    folder = Path(folder)
    unet = UNet2DConditionModel.from_pretrained(folder / "unet").half()
    atomic_folder(folder / "unet", lambda tmp: unet.save_pretrained(tmp, safe_serialization=True))
    info_path = folder / "training_info.json"
    info = dict(json.loads(info_path.read_text()), unet_storage="fp16")
    atomic_file(info_path, lambda tmp: tmp.write_text(json.dumps(info, indent=1)))
    from .card import measured_quality, write_card

    write_card(folder, info, measured_quality(folder))  # the size and storage changed; a measured table stays


def export(out: Path, vae, ema_modules, tok_dir: Path, info: dict, concepts: list[dict], half: bool = False,
           words: list[str] | None = None) -> None:
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
        if concepts:  # the vocabulary `dreamsampler3d concepts` lists and unknown words are matched against
            (tmp / "concepts.json").write_text(json.dumps(concepts, separators=(",", ":")))
        if words is not None:  # the words the UNet learnt from, when fewer than its tokenizer holds
            (tmp / "caption_words.json").write_text(json.dumps(words))
        write_card(tmp, info)

    atomic_folder(out, write)
    if half:
        halve_unet(out)
    print(f"exported {out} at UNet step {info.get('unet_steps')}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.halve:
        halve_unet(Path(args.halve))
        return 0
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    random.seed(args.seed)
    device = pick_device(args.device)
    out = Path(args.out).resolve()
    work = Path(args.work) if args.work else default_work(args.seed)
    work.mkdir(parents=True, exist_ok=True, mode=0o700)  # a new folder is the user's alone
    shapes, shape_caps = shape_scenes(work, args.n_images, args.seed, args.workers)
    concepts = concept_drawings(work, args.seed) if args.concepts else ConceptData(
        torch.zeros(0, 64, 64, 3, dtype=torch.uint8), [], [], [], [])
    if args.views:
        from ...data.emoji_data import CAPTIONS_PER_IMAGE

        concepts = concepts.with_views(*view_drawings(work, args.views, args.seed, CAPTIONS_PER_IMAGE))
    print(f"data: {len(shapes)} shape scenes, {len(concepts.images)} drawings of {len(concepts.concepts)} "
          f"concepts and 3D views ({args.views} views)", flush=True)
    if args.phase == "data":
        return 0
    pool = ImagePool(shapes.to(device), concepts.images.to(device), args.shape_fraction)
    vae, vae_stats = train_vae(args, work, pool)
    vae.eval().requires_grad_(False)
    latents = encode_latents(work, vae, pool.images)  # [N + M, 4, 16, 16], unit std
    vae, dec_stats = finetune_decoder(args, work, vae, pool, latents)
    if args.phase == "decoder":
        return 0
    del pool
    flat = [c for caps in concepts.captions for c in caps]
    tok_dir = work_tokenizer(work, sorted(set(grammar_words() + caption_words(flat))))
    tok = load_tokenizer(tok_dir)
    shape_ids = encode_captions(work, f"scenes_{args.seed}_{args.n_images}", shape_caps, tok)
    if flat:
        k = len(concepts.captions[0])
        name = f"concepts_{args.seed}" + (f"_views{args.views}" if args.views else "")
        concept_ids = encode_captions(work, name, flat, tok).view(len(concepts.captions), k, -1)
    else:
        concept_ids = torch.zeros(0, 1, MAX_LENGTH, dtype=torch.long)
    empty = tok([""], padding="max_length", max_length=MAX_LENGTH, return_tensors="pt").input_ids[0]
    n = len(shapes)
    batches = MixedBatches(latents[:n], shape_ids.to(device), latents[n:], concept_ids.to(device),
                           empty.to(device), args.shape_fraction, HOLDOUT)
    base = {"seed": args.seed, "n_images": args.n_images, "n_drawings": len(concepts.images) - args.views,
            "n_views": args.views,
            "n_concepts": len(concepts.concepts), "shape_fraction": args.shape_fraction,
            "init": Path(args.init).name if args.init else None, "batch": args.batch, "lr": args.lr,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU",
            "threads": args.threads, "vae": vae_stats, "decoder_finetune": dec_stats,
            "scaling_factor": float(vae.config.scaling_factor)}

    # A views-only prior's tokenizer still holds the shapes grammar (warm start), but its UNet never learnt it:
    # the words its captions held are what it knows (`data/vocabulary.py` reads them for the domain note).
    learnt = caption_words(flat) if args.shape_fraction == 0 else None

    def export_fn(ema_modules, info: dict) -> None:
        export(out, vae, ema_modules, tok_dir, dict(base, **info), concepts.concepts, args.half_unet, learnt)

    res = train_unet(args, work, batches, tok, export_fn)
    export_fn(res["model"], {"unet_steps": res["unet_steps"], "unet_minutes": res["unet_minutes"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
