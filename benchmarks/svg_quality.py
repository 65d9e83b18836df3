"""SVG tasks on the embedded prior, with fixed seeds.

    python benchmarks/svg_quality.py text [--prompts 100] [--steps 50]
    python benchmarks/svg_quality.py restore [--icons 50] [--steps 40]

text: prompt accuracy (the icon judge: colour and shape) of text-to-SVG with DreamSampler and with SDS on
the same prompts and step budget, beside the prior's own DDIM sampling (generate, classic CFG) of the same
prompts. restore: held-out synthetic icons (seeds far above the training range) degraded four ways (sr4, sr8,
blur, 25 % masked holes); PSNR / SSIM of each method's SVG render against the clean render. edit: held-out
two-object icons; edit-svg asks for a new colour (even icons) or a new shape (odd icons) of the first object;
an edit counts as correct when the judge finds the edited object as asked and the other object unchanged, and
the untouched region (outside the edited object's box, dilated 3 px, in source and target) is compared with
the source render (PSNR).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from _common import add_prior_args, load_prior
from dreamsampler3d.config import build_config
from dreamsampler3d.data.icons import (BACKGROUNDS, COLOURS, POSITIONS, SHAPES, make_scene, render_scene,
                                       scene_from_seed)
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


def _edit_pairs(n: int, seed: int) -> list[tuple[object, object, str]]:
    """(source scene, target scene, kind): two small objects; the first changes colour or shape."""
    rng = random.Random(HELD_OUT_SEED + seed)
    pairs = []
    for k in range(n):
        bg = rng.choice(BACKGROUNDS[:2])
        c1, c2, c_new = rng.sample([c for c in COLOURS if c != bg], 3)
        s1, s2 = rng.choice(SHAPES), rng.choice(SHAPES)
        p1, p2 = rng.sample(list(POSITIONS), 2)
        s_new = rng.choice([s for s in SHAPES if s != s1])
        kind = "colour" if k % 2 == 0 else "shape"
        new = (c_new, s1, p1) if kind == "colour" else (c1, s_new, p1)
        src = make_scene([(c1, s1, p1), (c2, s2, p2)], bg, jitter_seed=k)
        tgt = make_scene([new, (c2, s2, p2)], bg, jitter_seed=k)
        pairs.append((src, tgt, kind))
    return pairs


def _untouched(scene, size: int, pad: float = 3.0) -> np.ndarray:
    """bool [size, size]: pixels outside the first object's box (dilated by pad)."""
    o = scene.objects[0]
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    inside = (np.abs(xs - o.cx) <= o.r + pad) & (np.abs(ys - o.cy) <= o.r + pad)
    return ~inside


def edit_benchmark(prior, n: int, steps: int, seed: int, overrides: list[str]) -> None:
    from dreamsampler3d.data.judge import triples

    size = prior.default_size
    rows: dict[str, dict[str, list]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, (src, tgt, kind) in enumerate(_edit_pairs(n, seed)):
            (root / "in.svg").write_text(src.svg())
            source_img = render_scene(src, size)
            keep = _untouched(src, size)
            for method in ("dreamsampler", "dds", "pds"):
                flags = {"svg_file": str(root / "in.svg"), "prompt": tgt.caption(), "source_prompt": src.caption(),
                         "method": method, "run": {"steps": steps, "seed": seed + k}}
                start = time.perf_counter()
                img = _run(prior, "edit-svg", flags, overrides, root / f"{k}-{method}")
                v = judge_scene(img, triples(tgt))
                r = rows.setdefault(method, {"colour": [], "shape": [], "psnr": [], "s": []})
                r[kind].append(all(x.colour_ok and x.shape_ok and x.position_ok for x in v))
                r["psnr"].append(psnr(img, source_img, keep))
                r["s"].append(time.perf_counter() - start)
            print(f"edit {k + 1}/{n} done", flush=True)
    print(f"\n{n} held-out two-object icons ({(n + 1) // 2} colour edits, {n // 2} shape edits), {steps} steps\n")
    print("| method | colour edits correct | shape edits correct | all edits | PSNR untouched region (dB) | median s |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, r in rows.items():
        both = r["colour"] + r["shape"]
        print(f"| {method} | {np.mean(r['colour']):.0%} | {np.mean(r['shape']):.0%} | {np.mean(both):.0%} | "
              f"{statistics.mean(r['psnr']):.2f} | {statistics.median(r['s']):.1f} |")


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
    ap.add_argument("part", choices=["text", "restore", "edit"])
    ap.add_argument("--prompts", type=int, default=100)
    ap.add_argument("--icons", type=int, default=50, help="restore: held-out icons (edit: default 30)")
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
    elif args.part == "edit":
        edit_benchmark(prior, args.icons if "--icons" in sys.argv else 30, args.steps, args.seed, args.overrides)
    else:
        restore_benchmark(prior, args.icons, args.steps, args.seed, args.overrides, tuple(args.methods))


if __name__ == "__main__":
    main()
