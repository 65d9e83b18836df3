"""Does the prior draw what people type? Recognisability of everyday concepts, judged on OpenMoji drawings.

    python benchmarks/concept_quality.py [--concepts 300] [--methods dreamsampler,sds,sample-trace] [--steps 50]
                                         [--grid benchmarks/output/concept_grid.png] [--model embedded]

Concepts: a seeded sample of the prior's vocabulary (its concepts.json) among the concrete groups (animals and
nature, food and drink, travel and places, activities, objects) that OpenMoji draws. OpenMoji is never trained
on. The judge (metrics/concept_judge.py) counts a picture as recognised when it is more like the concept's
OpenMoji drawing than like each of 99 other concepts' drawings. Rows:

- the judge's scale: other designers' drawings of the same concepts (twemoji, Fluent, EmojiOne) and OpenMoji's
  own (the identity check: 100 % by construction);
- the prior: stock diffusers StableDiffusionPipeline, DDIM 50 steps, guidance 5 (the task's prior_guidance),
  prompt "a <name>", seed per concept;
- text-to-SVG per method, judged from result.svg rendered by cairosvg at 256 px, with the clean-SVG numbers of
  docs/svg.md (visible paths, segments, stray ink against the palette of the prior's own sample).

Data (OpenMoji, twemoji, Fluent, EmojiOne) is fetched from the npm registry once (data/icon_sets.py).
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
from PIL import Image

from _common import add_prior_args, load_prior
from dreamsampler3d.data.emoji_data import render_icon, with_article
from dreamsampler3d.data.icon_sets import IconifySet, norm_hex
from dreamsampler3d.data.vocabulary import Vocabulary
from dreamsampler3d.metrics.concept_judge import RetrievalJudge
from dreamsampler3d.priors.embedded import resolve_model

THINGS = ("animals and nature", "food and drink", "travel and places", "activities", "objects")
REFERENCE_SETS = ("openmoji", "twemoji", "fluent", "emojione")


def eval_concepts(vocab: Vocabulary, openmoji: IconifySet, n: int, seed: int) -> list[dict]:
    by_code = {norm_hex(h): name for h, name in openmoji.chars.items()}
    pool = [c for c in vocab.concepts if c.get("group") in THINGS and norm_hex(c["hexcode"]) in by_code]
    for c in pool:
        c["openmoji"] = by_code[norm_hex(c["hexcode"])]
    chosen = random.Random(seed).sample(pool, min(n, len(pool)))
    return sorted(chosen, key=lambda c: c["name"])


def reference_drawings(concepts: list[dict]) -> dict[str, dict[str, np.ndarray]]:
    """set key -> concept name -> 64 px drawing, for every reference set that draws the concept."""
    from dreamsampler3d.data.concepts import slug

    out: dict[str, dict[str, np.ndarray]] = {}
    for key in REFERENCE_SETS:
        s = IconifySet.load(key)
        by_code = {norm_hex(h): name for h, name in s.chars.items()}
        found = {}
        for c in concepts:
            icon = by_code.get(norm_hex(c["hexcode"])) or (slug(c["name"]) if slug(c["name"]) in s.data["icons"] else None)
            if icon:
                found[c["name"]] = render_icon(s.svg(icon))
        out[key] = found
    return out


def prior_samples(model: str, prompts: list[str], seed: int, steps: int, guidance: float, threads: int) -> list[np.ndarray]:
    """The stock diffusers pipeline over the prior folder: one image per prompt, seed + index each."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    torch.set_num_threads(threads)
    pipe = StableDiffusionPipeline.from_pretrained(model, safety_checker=None)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    images = []
    for k in range(0, len(prompts), 20):
        batch = prompts[k:k + 20]
        gens = [torch.Generator().manual_seed(seed + k + j) for j in range(len(batch))]
        out = pipe(batch, num_inference_steps=steps, guidance_scale=guidance, generator=gens, output_type="np").images
        images += [(np.clip(x, 0, 1) * 255).round().astype(np.uint8) for x in out]
    return images


def palette(image: np.ndarray, k: int = 8) -> list[tuple[int, int, int]]:
    """The main colours of a picture (k-means in RGB, clusters of at least 1 % of the pixels)."""
    from scipy.cluster.vq import kmeans2

    px = image.reshape(-1, 3).astype(np.float64)
    centres, labels = kmeans2(px, k, seed=0, minit="++")
    counts = np.bincount(labels, minlength=k)
    return [tuple(int(v) for v in centres[i]) for i in range(k) if counts[i] >= 0.01 * len(px)]


def svg_row(text: str, judge: RetrievalJudge, name: str, colours: list[tuple[int, int, int]]) -> dict:
    from dreamsampler3d.metrics.svg_quality import path_segments, render_svg, stray_ink, visible_elements

    img = render_svg(text, 256)
    visible = visible_elements(text)
    segments = path_segments(text)
    return {"img": img, "ok": judge.recognised(img, name), "visible": sum(visible), "paths": len(visible),
            "segments": sum(s for s, v in zip(segments, visible) if v),
            "stray": stray_ink(img, (255, 255, 255), colours), "bytes": len(text.encode())}


def run_svg(prior, prompt: str, method: str, steps: int, seed: int, out: Path) -> float:
    from dreamsampler3d.config import build_config
    from dreamsampler3d.tasks.prepare import build_task, read_inputs
    from dreamsampler3d.tasks.runner import execute

    cfg = build_config("text-to-svg", None, [], {"prompt": prompt, "method": method,
                                                 "run": {"steps": steps, "seed": seed, "out": str(out), "progress": False}})
    start = time.perf_counter()
    image, _ = read_inputs("text-to-svg", cfg)
    module, inputs, metrics = build_task("text-to-svg", cfg, prior, image)
    execute("text-to-svg", cfg, module, inputs, metrics)
    return time.perf_counter() - start


def save_grid(path: Path, rows: list[list[np.ndarray]], header: list[str]) -> None:
    """One row per concept: 256 px tiles (nearest-neighbour for rasters) with a 4 px gutter."""
    gap, side = 4, 256
    canvas = np.full((len(rows) * (side + gap), len(header) * (side + gap), 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            t = np.asarray(Image.fromarray(tile).resize((side, side), Image.NEAREST))
            canvas[i * (side + gap):i * (side + gap) + side, j * (side + gap):j * (side + gap) + side] = t
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)
    print(f"\ngrid: {path} (columns: {', '.join(header)})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_prior_args(ap)
    ap.add_argument("--concepts", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--guidance", type=float, default=5.0, help="the prior's DDIM sampling (text-to-svg's prior_guidance)")
    ap.add_argument("--methods", default="sample-trace,dreamsampler,sds", help="text-to-SVG methods ('' for none)")
    ap.add_argument("--svg-concepts", type=int, default=0, help="run the SVG methods on the first N only (0: all)")
    ap.add_argument("--grid", type=Path, default=None, help="picture grid of 24 concepts")
    args = ap.parse_args()
    model = resolve_model(args.model)
    vocab = Vocabulary.from_prior(model)
    if vocab is None or not vocab.concepts:
        print(f"{args.model}: no concepts.json; this prior knows no concepts", file=sys.stderr)
        return 2
    openmoji = IconifySet.load("openmoji")
    concepts = eval_concepts(vocab, openmoji, args.concepts, args.seed)
    names = [c["name"] for c in concepts]
    refs = reference_drawings(concepts)
    judge = RetrievalJudge.build(refs["openmoji"], seed=args.seed)
    print(f"{len(concepts)} concepts (seed {args.seed}) from {len(vocab.concepts)} known; each judged against 99 others\n")
    print("| pictures | recognised | concepts |")
    print("|---|---:|---:|")
    for key in REFERENCE_SETS:
        hits = [judge.recognised(img, n) for n, img in refs[key].items()]
        label = "OpenMoji's own drawings (identity check)" if key == "openmoji" else f"{key} drawings (another designer)"
        print(f"| {label} | {np.mean(hits):.1%} ({sum(hits)}) | {len(hits)} |")
    prompts = [with_article(n) for n in names]
    start = time.perf_counter()
    samples = prior_samples(model, prompts, args.seed, args.steps, args.guidance, args.threads)
    per = (time.perf_counter() - start) / len(prompts)
    hits = [judge.recognised(img, n) for img, n in zip(samples, names)]
    print(f"| prior, DDIM {args.steps} steps, guidance {args.guidance:g} | {np.mean(hits):.1%} ({sum(hits)}) | {len(hits)} |")
    print(f"\nprior sampling: {per:.2f} s per image in batches of 20")
    methods = [m for m in args.methods.split(",") if m]
    svg_n = args.svg_concepts or len(concepts)
    rows: dict[str, list[dict]] = {m: [] for m in methods}
    tiles: list[list[np.ndarray]] = []
    if methods:
        prior = load_prior(args)
        with tempfile.TemporaryDirectory() as tmp:
            for k, (c, prompt) in enumerate(zip(concepts[:svg_n], prompts)):
                colours = None
                for m in methods:
                    out = Path(tmp) / f"{k}-{m}"
                    seconds = run_svg(prior, prompt, m, args.steps, args.seed + k, out)
                    if colours is None:  # the palette of the prior's own sample (sample-trace runs first)
                        sample = out / "sample.png"
                        base = np.asarray(Image.open(sample).convert("RGB")) if sample.exists() else samples[k]
                        colours = palette(base)
                    r = svg_row((out / "result.svg").read_text(), judge, c["name"], colours)
                    r["seconds"] = seconds
                    rows[m].append(r)
                if len(tiles) < 24 and args.grid is not None:
                    tiles.append([samples[k]] + [rows[m][-1]["img"] for m in methods])
                print(f"concept {k + 1}/{svg_n} ({c['name']}): " + ", ".join(
                    f"{m} {'ok' if rows[m][-1]['ok'] else '--'} {rows[m][-1]['visible']} paths" for m in methods), flush=True)
        prior_hits = np.mean(hits[:svg_n])
        print(f"\ntext-to-SVG on the first {svg_n} concepts ({args.steps} steps, seeds {args.seed}..{args.seed + svg_n - 1}); "
              f"result.svg rendered by cairosvg at 256 px; the prior's DDIM sample on the same concepts: {prior_hits:.1%}\n")
        print("| method | recognised | mean visible paths | mean segments | median stray ink | p90 stray ink | median bytes | median s |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for m, rs in rows.items():
            ok = [r["ok"] for r in rs]
            print(f"| {m} | {np.mean(ok):.1%} ({sum(ok)}) | {statistics.mean(r['visible'] for r in rs):.1f} | "
                  f"{statistics.mean(r['segments'] for r in rs):.0f} | {statistics.median(r['stray'] for r in rs):.2%} | "
                  f"{np.percentile([r['stray'] for r in rs], 90):.2%} | {statistics.median(r['bytes'] for r in rs):.0f} | "
                  f"{statistics.median(r['seconds'] for r in rs):.1f} |")
    if args.grid is not None:
        if not tiles:
            tiles = [[s] for s in samples[:24]]
        save_grid(args.grid, tiles, ["prior sample"] + methods)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
