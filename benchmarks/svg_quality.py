"""SVG tasks on the embedded prior, with fixed seeds.

    python benchmarks/svg_quality.py text [--prompts 100] [--steps 50]
    python benchmarks/svg_quality.py restore [--icons 50] [--steps 40]

text: prompt accuracy (the icon judge: colour and shape) of text-to-SVG with DreamSampler and with SDS on
the same prompts and step budget, beside the prior's own DDIM sampling (generate, classic CFG) of the same
prompts. restore: held-out synthetic icons (seeds far above the training range) degraded four ways (sr4, sr8,
blur, 25 % masked holes); PSNR / SSIM of each method's SVG render against the clean render.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _common import add_prior_args, load_prior
from dreamsampler3d.config import build_config
from dreamsampler3d.data.icons import COLOURS, SHAPES, render_scene, scene_from_seed
from dreamsampler3d.data.judge import judge_scene
from dreamsampler3d.io.images import psnr
from dreamsampler3d.tasks.prepare import build_task, read_inputs
from dreamsampler3d.tasks.runner import execute, run_config

HELD_OUT_SEED = 10_000_000  # training scenes use small seeds; these were never seen


def _run(prior, task: str, flags: dict, overrides: list[str], out: Path) -> np.ndarray:
    cfg = build_config(task, None, overrides, {**flags, "run": {**flags.get("run", {}), "out": str(out), "progress": False}})
    image, _ = read_inputs(task, cfg)
    module, inputs, metrics = build_task(task, cfg, prior, image)
    execute(task, cfg, module, inputs, metrics)
    return np.asarray(Image.open(out / "result.png").convert("RGB"))


def text_benchmark(prior, n: int, steps: int, seed: int, overrides: list[str]) -> None:
    rng = random.Random(seed)
    backgrounds = ["white", "black"]
    prompts = []
    for _ in range(n):
        colour, shape = rng.choice(list(COLOURS)), rng.choice(SHAPES)
        bg = rng.choice([b for b in backgrounds if b != colour])
        prompts.append((f"a {colour} {shape} on a {bg} background", colour, shape))
    methods = {"generate (prior DDIM, CFG)": ("generate", {}), "text-to-svg DreamSampler": ("text-to-svg", {"method": "dreamsampler"}),
               "text-to-svg SDS": ("text-to-svg", {"method": "sds"})}
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (task, extra) in methods.items():
            ok_c = ok_s = 0
            seconds = []
            for k, (prompt, colour, shape) in enumerate(prompts):
                start = time.perf_counter()
                img = _run(prior, task, {"prompt": prompt, **extra, "run": {"steps": steps, "seed": seed + k}},
                           overrides if task == "text-to-svg" else [], Path(tmp) / f"{task}-{k}")
                seconds.append(time.perf_counter() - start)
                v = judge_scene(img, [(colour, shape, None)])[0]
                ok_c += v.colour_ok
                ok_s += v.colour_ok and v.shape_ok
            rows[name] = (ok_c / n, ok_s / n, statistics.median(seconds))
            print(f"{name}: colour {ok_c / n:.0%}, colour+shape {ok_s / n:.0%}", flush=True)
    print(f"\n{n} single-object prompts, {steps} steps, seeds {seed}..{seed + n - 1}\n")
    print("| method | colour correct | colour + shape correct | median s / prompt |")
    print("|---|---:|---:|---:|")
    for name, (c, s, sec) in rows.items():
        print(f"| {name} | {c:.0%} | {s:.0%} | {sec:.1f} |")


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def restore_benchmark(prior, n: int, steps: int, seed: int, overrides: list[str],
                      methods: tuple[str, ...] = ("dreamsampler", "vectorize", "two-stage")) -> None:
    size = prior.default_size
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k in range(n):
            clean = render_scene(scene_from_seed(HELD_OUT_SEED + seed + k), size)
            for degradation in ("sr4", "sr8", "blur", "inpaint"):
                flags = {"degradation": degradation, "run": {"steps": steps, "seed": seed + k}}
                img = Image.fromarray(clean)
                if degradation in ("sr4", "sr8"):
                    f = int(degradation[2:])
                    img = img.resize((size // f, size // f), Image.BOX)
                elif degradation == "blur":
                    from dreamsampler3d.io.images import to_tensor, to_uint8
                    from dreamsampler3d.sampler.operators import GaussianBlur

                    img = Image.fromarray(to_uint8(GaussianBlur(2.0).forward(to_tensor(img))))
                else:
                    mask = _holes(size, random.Random(seed + k))
                    Image.fromarray((mask * 255).astype(np.uint8)).save(root / "mask.png")
                    arr = np.asarray(img).copy()
                    arr[mask > 0] = 0
                    img = Image.fromarray(arr)
                    flags["mask"] = str(root / "mask.png")
                img.save(root / "degraded.png")
                flags["image"] = str(root / "degraded.png")
                for method in methods:
                    out = root / f"{k}-{degradation}-{method}"
                    cfg = build_config("restore-svg", None, overrides,
                                       {**flags, "method": method, "run": {**flags["run"], "out": str(out), "progress": False}})
                    if method == "two-stage":
                        run_config("restore-svg", cfg, log=lambda *_: None)
                    else:
                        image, _ = read_inputs("restore-svg", cfg)
                        module, inputs, metrics = build_task("restore-svg", cfg, prior, image)
                        execute("restore-svg", cfg, module, inputs, metrics)
                    got = np.asarray(Image.open(out / "result.png").convert("RGB"))
                    results.setdefault((degradation, method), []).append((psnr(got, clean), _ssim(got, clean)))
            print(f"icon {k + 1}/{n} done", flush=True)
    print(f"\n{n} held-out icons, {steps} steps\n")
    print("| degradation | method | PSNR (dB) | SSIM |")
    print("|---|---|---:|---:|")
    for (degradation, method), vals in results.items():
        print(f"| {degradation} | {method} | {statistics.mean(v[0] for v in vals):.2f} | {statistics.mean(v[1] for v in vals):.3f} |")


def _holes(size: int, rng: random.Random) -> np.ndarray:
    """Random rectangles until 25 % of the pixels are holes (1 = fill)."""
    mask = np.zeros((size, size), np.float32)
    while mask.mean() < 0.25:
        w, h = rng.randint(size // 8, size // 3), rng.randint(size // 8, size // 3)
        x, y = rng.randint(0, size - w), rng.randint(0, size - h)
        mask[y:y + h, x:x + w] = 1
    return mask


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["text", "restore"])
    ap.add_argument("--prompts", type=int, default=100)
    ap.add_argument("--icons", type=int, default=50)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", nargs="+", default=["dreamsampler", "vectorize", "two-stage"],
                    help="restore: which methods to run")
    add_prior_args(ap)
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_intermixed_args()
    prior = load_prior(args)
    if args.part == "text":
        text_benchmark(prior, args.prompts, args.steps, args.seed, args.overrides)
    else:
        restore_benchmark(prior, args.icons, args.steps, args.seed, args.overrides, tuple(args.methods))


if __name__ == "__main__":
    main()
