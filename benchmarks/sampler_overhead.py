"""How close a DreamSampler run comes to its floor.

floor = N x (one batched CFG UNet call) + VAE decode, all timed in this process on the same model;
ratio = wall time of the whole N-step run (Lightning Trainer, callbacks, result PNG) / floor.

    python benchmarks/sampler_overhead.py [--steps 50] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

from dreamsampler3d.config import build_config
from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
from dreamsampler3d.priors.embedded import embedded_prior_path
from dreamsampler3d.priors.tiny import build_tiny_pipeline
from dreamsampler3d.tasks.prepare import build_task
from dreamsampler3d.tasks.runner import execute, quiet_libraries


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(name: str, prior: DiffusionPrior, steps: int, repeats: int, overrides: list[str]) -> dict:
    """Floor and run are timed in alternation, so that load from other processes hits both alike."""
    size = prior.default_size
    c, h, w = prior.latent_shape(size, size)
    z = torch.randn(1, c, h, w)
    null, cond = prior.encode_text(""), prior.encode_text("a red star on a white background")
    t = int(prior.schedule(steps).timesteps[steps // 2])
    rows = []
    for _ in range(repeats):
        with torch.no_grad():
            unet = _median_time(lambda: prior.eps(z, t, [null, cond]), 15)
            decode = _median_time(lambda: prior.decode(z), 5)
        floor = steps * unet + decode
        with tempfile.TemporaryDirectory() as tmp:
            flags = {"prompt": "a red star on a white background", "run": {"steps": steps, "out": tmp, "progress": False}}
            cfg = build_config("generate", None, overrides, flags)
            module, inputs, metrics = build_task("generate", cfg, prior, None)
            start = time.perf_counter()
            execute("generate", cfg, module, inputs, metrics)
            wall = time.perf_counter() - start
        rows.append((wall / floor, unet, decode, floor, wall))
    ratio, unet, decode, floor, wall = sorted(rows)[len(rows) // 2]  # the median pair
    return {"model": name, "settings": " ".join(overrides) or "defaults", "latent": f"{c}x{h}x{w}",
            "unet_ms": unet * 1e3, "decode_ms": decode * 1e3, "floor_s": floor, "wall_s": wall, "ratio": ratio}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    quiet_libraries()
    models = {"tiny sd1 (random, 32 px)": DiffusionPrior(build_tiny_pipeline("sd1")),
              "tiny sdxl (random, 32 px)": DiffusionPrior(build_tiny_pipeline("sdxl"))}
    if embedded_prior_path() is not None:
        models["embedded icon prior (64 px)"] = DiffusionPrior.from_pretrained(str(embedded_prior_path()))
    rows = []
    for name, prior in models.items():
        rows.append(measure(name, prior, args.steps, args.repeats, []))
        rows.append(measure(name, prior, args.steps, args.repeats, ["run.checkpoint_every=0", "run.snapshot_every=0"]))
        rows.append(measure(name, prior, args.steps, args.repeats, ["run.checkpoint_every=1"]))
    print(f"\nDreamSampler generate, {args.steps} steps, {args.threads} threads, torch {torch.__version__}\n")
    print("| model | settings | latent | CFG UNet call (ms) | decode (ms) | floor (s) | wall (s) | wall / floor |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['settings']} | {r['latent']} | {r['unet_ms']:.2f} | {r['decode_ms']:.2f} | "
              f"{r['floor_s']:.3f} | {r['wall_s']:.3f} | {r['ratio']:.3f} |")


if __name__ == "__main__":
    main()
