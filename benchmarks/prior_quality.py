"""Quality of the embedded icon prior: sample prompts with plain DDIM + CFG, judge automatically.

    python benchmarks/prior_quality.py [--model src/dreamsampler3d/assets/icon-prior] [--update-card]

Prompts come from the scene generator (same wording as training). Each sample is judged by
dreamsampler3d.data.judge, which is first run on ground-truth renders of the same prompts.
Prints a markdown table (issue 3 targets in the last column).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from dreamsampler3d.data.icons import (BACKGROUNDS, COLOURS, POSITIONS, SHAPES, make_scene,
                                       render_scene)
from dreamsampler3d.data.judge import judge_scene, triples, validate_on_renders

ROOT = Path(__file__).resolve().parents[1]


def build_prompts(n_single: int, n_pos: int, n_two: int, seed: int) -> list[tuple[str, object]]:
    """(kind, scene) pairs: large single objects, small placed objects, two placed objects."""
    rng = random.Random(seed)
    out = []
    for i in range(n_single):
        bg = BACKGROUNDS[i % len(BACKGROUNDS)]
        colour = rng.choice([c for c in COLOURS if c != bg])
        out.append(("single", make_scene([(colour, SHAPES[i % len(SHAPES)], None)], bg)))
    for i in range(n_pos):
        bg = rng.choice(BACKGROUNDS)
        colour = rng.choice([c for c in COLOURS if c != bg])
        pos = list(POSITIONS)[i % len(POSITIONS)]
        out.append(("position", make_scene([(colour, rng.choice(SHAPES), pos)], bg)))
    for _ in range(n_two):
        bg = rng.choice(BACKGROUNDS)
        c1, c2 = rng.sample([c for c in COLOURS if c != bg], 2)
        p1, p2 = rng.sample(list(POSITIONS), 2)
        objs = [(c1, rng.choice(SHAPES), p1), (c2, rng.choice(SHAPES), p2)]
        out.append(("two", make_scene(objs, bg)))
    return out


def score(kind_scenes: list[tuple[str, object]], images: list[np.ndarray]) -> dict[str, float]:
    """Accuracies per metric from uint8 images [64, 64, 3] judged against their scenes."""
    acc: dict[str, list[bool]] = {k: [] for k in
                                  ("colour", "shape", "position", "two_both", "two_position")}
    for (kind, scene), img in zip(kind_scenes, images):
        v = judge_scene(img, triples(scene))
        if kind == "single":
            acc["colour"].append(v[0].colour_ok)
            acc["shape"].append(v[0].colour_ok and v[0].shape_ok)
        elif kind == "position":
            acc["position"].append(bool(v[0].position_ok))
        else:
            acc["two_both"].append(all(x.colour_ok and x.shape_ok for x in v))
            acc["two_position"].append(all(bool(x.position_ok) for x in v))
    return {k: float(np.mean(x)) if x else float("nan") for k, x in acc.items()}


def sample(pipe, prompts: list[str], batch: int, steps: int, cfg: float, seed: int):
    """uint8 images [64, 64, 3], one per prompt, each with its own seeded generator."""
    out = []
    for i in range(0, len(prompts), batch):
        chunk = prompts[i:i + batch]
        gens = [torch.Generator().manual_seed(seed + i + k) for k in range(len(chunk))]
        ims = pipe(chunk, num_inference_steps=steps, guidance_scale=cfg, generator=gens,
                   output_type="np").images  # float [B, 64, 64, 3] in [0, 1]
        out += [(im * 255).round().astype(np.uint8) for im in ims]
        print(f"  sampled {len(out)}/{len(prompts)}", file=sys.stderr, flush=True)
    return out


def save_grid(images: list[np.ndarray], path: Path, cols: int = 20) -> None:
    from PIL import Image

    rows = (len(images) + cols - 1) // cols
    grid = np.zeros((rows * 64, cols * 64, 3), np.uint8)
    for k, im in enumerate(images):
        grid[(k // cols) * 64:(k // cols + 1) * 64, (k % cols) * 64:(k % cols + 1) * 64] = im
    Image.fromarray(grid).save(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=str(ROOT / "src" / "dreamsampler3d" / "assets" / "icon-prior"))
    p.add_argument("--n-single", type=int, default=100)
    p.add_argument("--n-position", type=int, default=54)
    p.add_argument("--n-two", type=int, default=60)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--batch", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--grid", default="/tmp/prior_quality_grid.png", help="PNG of all samples")
    p.add_argument("--update-card", action="store_true", help="write the table into README.md")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(args.model)
    pipe.set_progress_bar_config(disable=True)
    items = build_prompts(args.n_single, args.n_position, args.n_two, args.seed)
    prompts = [s.caption() for _, s in items]

    truth = score(items, [render_scene(s) for _, s in items])  # judge on ground truth
    random_truth = validate_on_renders(300)

    pipe("a red star", num_inference_steps=2, output_type="np")  # warm-up
    t0 = time.perf_counter()
    pipe(prompts[0], num_inference_steps=args.steps, guidance_scale=args.cfg, output_type="np")
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    images = sample(pipe, prompts, args.batch, args.steps, args.cfg, args.seed)
    per_image = (time.perf_counter() - t0) / len(images)
    got = score(items, images)
    save_grid(images, Path(args.grid))

    n = {k: sum(1 for kind, _ in items if kind == k) for k in ("single", "position", "two")}
    rows = [
        ("single-object colour correct", got["colour"], truth["colour"], ">= 98 %", n["single"]),
        ("single-object shape correct", got["shape"], truth["shape"], ">= 95 %", n["single"]),
        ("small-object position followed", got["position"], truth["position"], ">= 70 %",
         n["position"]),
        ("two-object both colour+shape right", got["two_both"], truth["two_both"], ">= 60 %",
         n["two"]),
        ("two-object both positions right", got["two_position"], truth["two_position"], "-",
         n["two"]),
    ]
    lines = [f"DDIM {args.steps} steps, CFG {args.cfg}, {len(items)} prompts, "
             f"{args.threads} CPU thread(s), seed {args.seed}.", "",
             "| metric | prior | judge on ground-truth renders | target | prompts |",
             "|---|---|---|---|---|"]
    lines += [f"| {m} | {g * 100:.1f} % | {t * 100:.1f} % | {tg} | {k} |"
              for m, g, t, tg, k in rows]
    lines += [f"| seconds per image (batch {args.batch}) | {per_image:.2f} s | | | |",
              f"| seconds for one 64x64 image, {args.steps} steps | {one:.2f} s | | seconds | |", "",
              "Judge accuracy on 300 random ground-truth scenes: " +
              ", ".join(f"{k} {v * 100:.1f} %" for k, v in random_truth.items()) + "."]
    table = "\n".join(lines)
    print(table)
    if args.update_card:
        from dreamsampler3d.priors.training.card import write_card

        folder = Path(args.model)
        info = json.loads((folder / "training_info.json").read_text())
        write_card(folder, info, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
