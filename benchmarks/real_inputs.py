"""Real inputs decide: the SVG tasks on icons from public sets, not on scenes from our own generator.

The sets are pinned npm packages fetched into the user's cache on first use (src/dreamsampler3d/data/icon_sets.py;
nothing is committed): Feather (MIT), Lucide (ISC), Font Awesome Free solid (CC-BY-4.0), Heroicons (MIT), Twemoji
(CC-BY-4.0) and OpenMoji (CC-BY-SA-4.0, used here as inputs only).

    python benchmarks/real_inputs.py import                  # every icon imported for editing: errors, time
    python benchmarks/real_inputs.py edit --icons 30         # edit-svg recolours on OpenMoji icons vs DDS
    python benchmarks/real_inputs.py restore --degradation sr4 --size 64   # restore-svg vs the raster baseline
                                                                            # (+ vtracer); also sr8, blur, inpaint
    python benchmarks/real_inputs.py raster --raster sr4 --steps 50   # raster restore vs bicubic (also sr8)
    python benchmarks/real_inputs.py raster --raster edit --steps 50  # raster edit vs DDS and PDS
    python benchmarks/real_inputs.py raster --raster inpaint --steps 50   # 'a yellow square' in a box vs latent DPS
"""

from __future__ import annotations

import argparse
import colorsys
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from _common import add_prior_args, load_prior
from dreamsampler3d.config import build_config
from dreamsampler3d.data.icon_sets import IconifySet
from dreamsampler3d.errors import UserError
from dreamsampler3d.generators.svg import SVGConfig
from dreamsampler3d.generators.svg_from_scene import generator_from_scene
from dreamsampler3d.io.images import psnr
from dreamsampler3d.metrics.svg_quality import count_visible, render_svg
from dreamsampler3d.renderers.svg.svg_export import save_svg
from dreamsampler3d.renderers.svg.svg_io import load_svg
from dreamsampler3d.tasks.prepare import build_task, read_inputs
from dreamsampler3d.tasks.runner import execute

OUTPUT = Path(__file__).parent / "output"
IMPORT_SETS = ("feather", "lucide", "fa6-solid", "heroicons", "twemoji", "openmoji")


def _tile(svg: str) -> np.ndarray:
    """A document rendered by cairosvg into a 256 px square on white, aspect kept."""
    img = Image.fromarray(render_svg(svg, 256))
    img.thumbnail((256, 256))
    tile = Image.new("RGB", (256, 256), "white")
    tile.paste(img, ((256 - img.width) // 2, (256 - img.height) // 2))
    return np.asarray(tile)


def _grid(path: Path, rows: list[list[np.ndarray]], names: list[str]) -> None:
    gap = 4
    canvas = np.full((len(rows) * (256 + gap), len(rows[0]) * (256 + gap), 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            canvas[i * (256 + gap):i * (256 + gap) + 256, j * (256 + gap):j * (256 + gap) + 256] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas).save(path)
    print(f"\ngrid: {path} (columns: {', '.join(names)})")


def _run(task: str, flags: dict, prior, overrides: list[str] = ()) -> Path:
    """One task run as the CLI would make it (config checks, dotted key=value overrides, input reading, the
    runner); returns its folder."""
    cfg = build_config(task, None, list(overrides), flags)
    image, _ = read_inputs(task, cfg)
    module, inputs, metrics = build_task(task, cfg, prior, image)
    execute(task, cfg, module, inputs, metrics)
    return Path(cfg.run.out)


# ---------------------------------------------------------------------------------------------------- import
def import_benchmark(per_set: int, seed: int) -> None:
    """Every icon through the editor's import (strokes, conics, arcs, transforms, non-square viewBoxes)."""
    rng = random.Random(seed)
    print("| set | icons | imported | refused (one line) | other exceptions | slowest (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for key in IMPORT_SETS:
        icons = IconifySet.load(key)
        names = rng.sample(icons.names, min(per_set, len(icons.names)))
        ok = refused = other = 0
        slowest = 0.0
        for name in names:
            start = time.perf_counter()
            try:
                generator_from_scene(load_svg(icons.svg(name)), SVGConfig(), 64, multiple=16)
                ok += 1
            except (UserError, ValueError) as e:  # ValueError: a document with nothing painted
                refused += 1
                print(f"  refused {key}:{name}: {e}", file=sys.stderr)
            except Exception as e:  # noqa: BLE001 (what the benchmark counts)
                other += 1
                print(f"  FOREIGN {key}:{name}: {type(e).__name__}: {e}", file=sys.stderr)
            slowest = max(slowest, time.perf_counter() - start)
        print(f"| {key} | {len(names)} | {ok} | {refused} | {other} | {slowest:.2f} |", flush=True)


# ---------------------------------------------------------------------------------------------------- edit
def _openmoji_edits(n: int, seed: int) -> list[tuple[str, str]]:
    """(icon name, concept words) for OpenMoji icons with black outlines and coloured fills, one word or two."""
    icons = IconifySet.load("openmoji")
    rng = random.Random(seed)
    names = [m for m in icons.names if re.fullmatch(r"[a-z]+(-[a-z]+)?", m) and "flag" not in m]
    rng.shuffle(names)
    out = []
    for name in names:
        body = icons.data["icons"][name]["body"]
        if "#000" in body and re.search(r'fill="#(?!000|fff|FFF)[0-9A-Fa-f]{3,6}"', body):
            out.append((name, name.replace("-", " ")))
        if len(out) == n:
            break
    return out


def _hue_share(image: np.ndarray, hues: tuple[float, float] = (190, 260), of_coloured: bool = True,
               every: int = 4) -> float:
    """Share of the pixels (of the coloured ink: not near black, white or grey; or of all) whose hue lies in
    ``hues`` degrees (blue: 190-260, yellow: 40-70) and that are themselves coloured."""
    px = image.reshape(-1, 3).astype(np.float64)[:: every] / 255  # every 4th pixel: enough for a share
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in px])
    coloured = (hsv[:, 1] > 0.3) & (hsv[:, 2] > 0.25)
    hue = hsv[:, 0] * 360
    hit = coloured & (hue >= hues[0]) & (hue <= hues[1])
    if of_coloured:
        return float(hit.sum() / coloured.sum()) if coloured.any() else 0.0
    return float(hit.mean())


def _blue_share(image: np.ndarray) -> float:
    return _hue_share(image)


def _drawing_kept(given: np.ndarray, got: np.ndarray) -> float:
    """IoU of the input's ink (pixels not near white: some channel < 200) with the result's: a recolour keeps the
    drawing's silhouette; a result that shreds it or draws some other thing does not. (The 1 px black outlines
    themselves do not survive any method's 64 px autoencoder, so they cannot be the judge here.)"""
    a, b = given.min(axis=-1) < 200, got.min(axis=-1) < 200  # [H, W]
    return float((a & b).sum() / max((a | b).sum(), 1))


def _dark_paths(svg_text: str) -> list[str]:
    """The <path> elements of an exported SVG filled near-black: an icon's outline, which a recolour leaves."""
    out = []
    for el in re.findall(r"<path [^>]*>", svg_text):
        m = re.search(r'fill="#([0-9a-f]{6})"', el)
        if m and max(int(m.group(1)[i:i + 2], 16) for i in (0, 2, 4)) < 50:
            out.append(el)
    return out


def edit_benchmark(prior, n: int, steps: int, seed: int, methods: list[str], overrides: list[str]) -> None:
    edits = _openmoji_edits(n, seed)
    icons = IconifySet.load("openmoji")
    size, multiple = prior.default_size, prior.size_multiple
    rows: dict[str, list[dict]] = {m: [] for m in methods}
    grid: list[list[np.ndarray]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, (name, words) in enumerate(edits):
            svg = icons.svg(name)
            (root / "in.svg").write_text(svg)
            gen = generator_from_scene(load_svg(svg), SVGConfig(), size, multiple)
            exported = save_svg(gen.scene(), size=512, decimals=1)
            outline = _dark_paths(exported)
            before = _tile(svg)
            tiles = [before]
            for method in methods:
                out = root / f"{k}-{method}"
                flags = {"svg_file": str(root / "in.svg"), "prompt": f"a blue {words}", "method": method,
                         "run": {"steps": steps, "seed": seed + k, "out": str(out), "progress": False}}
                start = time.perf_counter()
                try:
                    own = overrides if method == "dreamsampler" else []
                    text = (_run("edit-svg", flags, prior, own) / "result.svg").read_text()
                    after = _tile(text)
                    rows[method].append({
                        "ok": True, "seconds": time.perf_counter() - start,
                        "untouched": (sum(p in text for p in outline) / len(outline)) if outline else None,
                        "blue_before": _blue_share(before), "blue_after": _blue_share(after),
                        "drawing": _drawing_kept(before, after), "psnr": psnr(after, before),
                        "paths": text.count("<path"), "visible": count_visible(text),
                        "in_paths": exported.count("<path")})
                except Exception as e:  # noqa: BLE001 (what the benchmark counts)
                    print(f"  {method} on {name}: {type(e).__name__}: {e}", file=sys.stderr)
                    rows[method].append({"ok": False})
                    after = np.full((256, 256, 3), 255, np.uint8)
                tiles.append(after)
            if len(grid) < 10:
                grid.append(tiles)
            kept = {m: f"{rows[m][-1]['untouched']:.0%}" for m in methods
                    if rows[m][-1]["ok"] and rows[m][-1]["untouched"] is not None}
            print(f"icon {k + 1}/{len(edits)} ({name}) done; outline kept {kept}", flush=True)
    print(f"\n{len(edits)} OpenMoji icons (black outline + coloured fills), prompt 'a blue <name>', {steps} steps; "
          "result.svg rendered by cairosvg at 256 px\n")
    print("| method | ran | outline paths byte-identical (mean) | edits with all outline kept | blue share of "
          "coloured ink before -> after | edits >= 50 % blue | drawing kept (ink IoU) | edits >= 50 % blue keeping "
          ">= 0.7 of the drawing | PSNR to input (dB) | paths in -> out | visible paths | s per edit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for method, rs in rows.items():
        good = [r for r in rs if r["ok"]]
        kept = [r["untouched"] for r in good if r["untouched"] is not None]
        if not good:
            print(f"| {method} | 0/{len(rs)} | | | | | | | | | | |")
            continue
        print(f"| {method} | {len(good)}/{len(rs)} | {np.mean(kept):.0%} | {np.mean([v == 1 for v in kept]):.0%} | "
              f"{np.mean([r['blue_before'] for r in good]):.0%} -> {np.mean([r['blue_after'] for r in good]):.0%} | "
              f"{np.mean([r['blue_after'] >= 0.5 for r in good]):.0%} | {np.mean([r['drawing'] for r in good]):.2f} | "
              f"{np.mean([r['blue_after'] >= 0.5 and r['drawing'] >= 0.7 for r in good]):.0%} | "
              f"{np.mean([r['psnr'] for r in good]):.1f} | {np.mean([r['in_paths'] for r in good]):.1f} -> "
              f"{np.mean([r['paths'] for r in good]):.1f} | {np.mean([r['visible'] for r in good]):.1f} | "
              f"{statistics.median(r['seconds'] for r in good):.1f} |")
    _grid(OUTPUT / "real_edit_grid.png", grid, ["input", *methods])


# ---------------------------------------------------------------------------------------------------- restore
def _restore_icons(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for key in ("fa6-solid", "openmoji", "twemoji"):
        icons = IconifySet.load(key)
        out += [(key, name) for name in rng.sample(icons.names, n // 3 + 1)]
    return out[:n]


def _degrade(clean: np.ndarray, kind: str, size: int, root: Path, rng: random.Random) -> tuple[Image.Image, dict,
                                                                                            np.ndarray, str]:
    """(the degraded input, its extra flags, the simplest strong raster alternative at the clean size, its name)."""
    from dreamsampler3d.io.images import to_tensor, to_uint8
    from dreamsampler3d.sampler.operators import GaussianBlur

    side = clean.shape[0]
    if kind in ("sr4", "sr8"):
        small = Image.fromarray(clean).resize((size, size), Image.BOX)
        return small, {}, np.asarray(small.resize((side, side), Image.BICUBIC)), "bicubic"
    if kind == "blur":
        blurred = Image.fromarray(to_uint8(GaussianBlur(2.0).forward(to_tensor(Image.fromarray(clean)))))
        return blurred, {}, np.asarray(blurred), "the blurred input"
    from skimage.restoration import inpaint_biharmonic

    mask = _box_mask(side, rng)
    Image.fromarray((mask * 255).astype(np.uint8)).save(root / "mask.png")
    holed = clean.copy()
    holed[mask] = 0
    filled = (inpaint_biharmonic(clean.astype(np.float64) / 255 * ~mask[..., None], mask, channel_axis=-1) * 255)
    return Image.fromarray(holed), {"mask": str(root / "mask.png")}, filled.clip(0, 255).astype(np.uint8), \
        "biharmonic inpainting"


def restore_benchmark(prior, n: int, steps: int, seed: int, kind: str, size: int, overrides: list[str]) -> None:
    """Icons given at ``size`` px (a clean 256 px render box-filtered down), degraded by ``kind``; the result is
    judged at the clean size against the clean render. The alternative: the simplest strong raster restoration
    (bicubic, the input itself, biharmonic inpainting), and that raster traced by vtracer."""
    from dreamsampler3d.generators.trace import trace
    from dreamsampler3d.tasks.prepare import factor_of

    clean_side = size * factor_of(kind)
    rows: dict[str, list[tuple[float, float, int]]] = {"dreamsampler": [], "raster + vtracer": [], "raster": []}
    grid = []
    rng = random.Random(seed)
    alt_name = ""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for k, (key, name) in enumerate(_restore_icons(n, seed)):
            svg = IconifySet.load(key).svg(name)
            clean = np.asarray(Image.fromarray(_tile(svg)).resize((clean_side, clean_side), Image.BOX))
            given, extra, alternative, alt_name = _degrade(clean, kind, size, root, rng)
            given.save(root / "in.png")
            out = root / f"{k}"
            flags = {"image": str(root / "in.png"), "degradation": kind, **extra,
                     "run": {"steps": steps, "seed": seed + k, "out": str(out), "progress": False}}
            ours = (_run("restore-svg", flags, prior, overrides) / "result.svg").read_text()
            traced = trace(alternative, clean_side)
            tiles = [np.asarray(given.resize((256, 256), Image.NEAREST)), _tile(svg)]
            for method, text in (("dreamsampler", ours), ("raster + vtracer", traced)):
                got = render_svg(text, clean_side)
                rows[method].append((psnr(got, clean), _ssim(got, clean), count_visible(text)))
                tiles.append(_tile(text))
            rows["raster"].append((psnr(alternative, clean), _ssim(alternative, clean), 0))
            if len(grid) < 10:
                grid.append(tiles)
            print(f"icon {k + 1}/{n} ({key}:{name}) done: PSNR ours {rows['dreamsampler'][-1][0]:.1f}, "
                  f"{alt_name} + vtracer {rows['raster + vtracer'][-1][0]:.1f}, {alt_name} {rows['raster'][-1][0]:.1f}",
                  flush=True)
    ours, alt = rows["dreamsampler"], rows["raster + vtracer"]
    wins = np.mean([a[0] > b[0] for a, b in zip(ours, alt)])
    wins_raster = np.mean([a[0] > b[0] for a, b in zip(ours, rows["raster"])])
    print(f"\n{n} real icons (Font Awesome, OpenMoji, Twemoji) given at {size} px, degradation {kind}; PSNR and "
          f"SSIM at {clean_side} px against the clean render; the raster alternative is {alt_name}. DreamSampler "
          f"ahead of {alt_name} + vtracer on {wins:.0%} of icons, of {alt_name} on {wins_raster:.0%}\n")
    print("| method | PSNR (dB) | SSIM | visible paths |")
    print("|---|---:|---:|---:|")
    for method, vals in rows.items():
        label = method.replace("raster", alt_name)
        paths = f"{np.mean([v[2] for v in vals]):.1f}" if method != "raster" else "(raster)"
        print(f"| {label} | {np.mean([v[0] for v in vals]):.2f} | {np.mean([v[1] for v in vals]):.3f} | {paths} |")
    _grid(OUTPUT / f"real_restore_{kind}_grid.png", grid, ["input (nearest)", "clean", "dreamsampler",
                                                          f"{alt_name} + vtracer"])


# ---------------------------------------------------------------------------------------------------- raster
YELLOW = (40.0, 70.0)


def _raster_run(task: str, flags: dict, prior, overrides: list[str] = ()) -> np.ndarray:
    """A raster task run as the CLI would make it; its result.png as uint8 [H, W, 3]."""
    return np.asarray(Image.open(_run(task, flags, prior, overrides) / "result.png").convert("RGB"))


def _icon_at(key: str, name: str, side: int) -> np.ndarray:
    """A real icon as a user's raster: the 256 px render on white, box-filtered to ``side`` px."""
    return np.asarray(Image.fromarray(_tile(IconifySet.load(key).svg(name))).resize((side, side), Image.BOX))


def _box_mask(side: int, rng: random.Random) -> np.ndarray:
    """A box of a fifth to a third of the side, away from the border: where a user asks for something new."""
    mask = np.zeros((side, side), bool)
    w, h = rng.randint(side // 5, side // 3), rng.randint(side // 5, side // 3)
    x, y = rng.randint(side // 6, side - w - side // 6), rng.randint(side // 6, side - h - side // 6)
    mask[y:y + h, x:x + w] = True
    return mask


def _raster_restore(prior, icons: list[tuple[str, str]], steps: int, seed: int, kind: str, root: Path,
                    overrides: list[str] = ()):
    """sr4 / sr8 at the prior's size: the clean icon at that size box-filtered down by the factor, against bicubic."""
    from dreamsampler3d.tasks.prepare import factor_of

    side = prior.default_size
    small_side = side // factor_of(kind)
    rows: dict[str, list[tuple[float, float]]] = {"dreamsampler": [], "bicubic": []}
    grid = []
    for k, (key, name) in enumerate(icons):
        clean = _icon_at(key, name, side)
        small = Image.fromarray(clean).resize((small_side, small_side), Image.BOX)
        small.save(root / "in.png")
        bicubic = np.asarray(small.resize((side, side), Image.BICUBIC))
        ours = _raster_run("restore", {"image": str(root / "in.png"), "degradation": kind,
                                       "run": {"steps": steps, "seed": seed + k, "out": str(root / f"r{k}"),
                                               "progress": False}}, prior, overrides)
        assert ours.shape == clean.shape, (ours.shape, clean.shape)
        for method, got in (("dreamsampler", ours), ("bicubic", bicubic)):
            rows[method].append((psnr(got, clean), _ssim(got, clean)))
        if len(grid) < 10:
            grid.append([_up(np.asarray(small)), _up(clean), _up(ours), _up(bicubic)])
        print(f"icon {k + 1}/{len(icons)} ({key}:{name}) done", flush=True)
    wins = np.mean([a[0] > b[0] for a, b in zip(rows["dreamsampler"], rows["bicubic"])])
    print(f"\n{len(icons)} real icons (Font Awesome, OpenMoji, Twemoji) at {side} px, box-filtered to {small_side} px; "
          f"restore --degradation {kind} {' '.join(overrides)}, {steps} steps; PSNR / SSIM at {side} px (the model's size, the result's) "
          f"against the clean icon. DreamSampler ahead of bicubic on {wins:.0%} of icons\n")
    print("| method | PSNR (dB) | SSIM |")
    print("|---|---:|---:|")
    for method, vals in rows.items():
        print(f"| {method} | {np.mean([v[0] for v in vals]):.2f} | {np.mean([v[1] for v in vals]):.3f} |")
    _grid(OUTPUT / f"real_raster_{kind}_grid.png", grid, ["input", "clean", "dreamsampler", "bicubic"])


def _up(image: np.ndarray) -> np.ndarray:
    """A small raster shown at 256 px with its pixels visible (nearest), as a user zooming in sees it."""
    return np.asarray(Image.fromarray(image).resize((256, 256), Image.NEAREST))


def _raster_edit(prior, n: int, steps: int, seed: int, methods: list[str], overrides: list[str], root: Path) -> None:
    """'a blue <name>' on OpenMoji icons given as 64 px PNGs: how much of the coloured ink turns blue, and how
    much of the drawing stays (its silhouette; PSNR to the input)."""
    side = prior.default_size
    rows: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in methods}
    grid = []
    for k, (name, words) in enumerate(_openmoji_edits(n, seed)):
        given = _icon_at("openmoji", name, side)
        Image.fromarray(given).save(root / "in.png")
        tiles = [_up(given)]
        for method in methods:
            flags = {"image": str(root / "in.png"), "prompt": f"a blue {words}", "method": method,
                     "run": {"steps": steps, "seed": seed + k, "out": str(root / f"e{k}-{method}"), "progress": False}}
            got = _raster_run("edit", flags, prior, overrides if method == "dreamsampler" else [])
            rows[method].append((_hue_share(given, every=1), _hue_share(got, every=1), psnr(got, given),
                                 _drawing_kept(given, got)))
            tiles.append(_up(got))
        if len(grid) < 10:
            grid.append(tiles)
        got_row = ", ".join(f"{m} blue {rows[m][-1][1]:.0%} drawing {rows[m][-1][3]:.2f}" for m in methods)
        print(f"icon {k + 1}/{n} ({name}) done: {got_row}", flush=True)
    print(f"\n{n} OpenMoji icons as {side} px PNGs, prompt 'a blue <name>', edit, {steps} steps, dreamsampler "
          f"options {overrides or 'default'}\n")
    print("| method | blue share of coloured ink before -> after | edits with >= 50 % blue | drawing kept (ink IoU) | "
          "edits >= 50 % blue keeping >= 0.7 of the drawing | PSNR to input (dB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, vals in rows.items():
        print(f"| {method} | {np.mean([v[0] for v in vals]):.0%} -> {np.mean([v[1] for v in vals]):.0%} | "
              f"{np.mean([v[1] >= 0.5 for v in vals]):.0%} | {np.mean([v[3] for v in vals]):.2f} | "
              f"{np.mean([v[1] >= 0.5 and v[3] >= 0.7 for v in vals]):.0%} | {np.mean([v[2] for v in vals]):.1f} |")
    _grid(OUTPUT / "real_raster_edit_grid.png", grid, ["input", *methods])


INPAINT_METHODS = {"dreamsampler": {}, "dps": {"sampler": {"dreamsampler_until": 0.0}}}


def _raster_inpaint(prior, icons: list[tuple[str, str]], steps: int, seed: int, overrides: list[str],
                    root: Path) -> None:
    """'a yellow square' in a box masked on a real icon: how much of the box turns yellow (the asked change)
    and whether the rest stays the input's. The baseline is the same sampler without DreamSampler steps
    (latent DPS with CG data consistency)."""
    side = prior.default_size
    rng = random.Random(seed)
    rows: dict[str, list[tuple[float, float]]] = {m: [] for m in INPAINT_METHODS}
    grid = []
    for k, (key, name) in enumerate(icons):
        given = _icon_at(key, name, side)
        mask = _box_mask(side, rng)
        Image.fromarray(given).save(root / "in.png")
        Image.fromarray((mask * 255).astype(np.uint8)).save(root / "mask.png")
        shown = given.copy()
        shown[mask] = (255, 0, 255)
        tiles = [_up(shown)]
        for method, extra in INPAINT_METHODS.items():
            flags = {"image": str(root / "in.png"), "masks": [str(root / "mask.png")], "prompts": ["a yellow square"],
                     **extra, "run": {"steps": steps, "seed": seed + k, "out": str(root / f"i{k}-{method}"),
                                      "progress": False}}
            got = _raster_run("inpaint", flags, prior, overrides if method == "dreamsampler" else [])
            kept = bool((got[~mask] == given[~mask]).all())
            rows[method].append((_hue_share(got[mask], YELLOW, of_coloured=False, every=1), kept))
            tiles.append(_up(got))
        if len(grid) < 10:
            grid.append(tiles)
        print(f"icon {k + 1}/{len(icons)} ({key}:{name}) done", flush=True)
    print(f"\n{len(icons)} real icons at {side} px with a box mask, prompt 'a yellow square', inpaint, {steps} steps, "
          f"dreamsampler options {overrides or 'default'}\n")
    print("| method | yellow share of the box | boxes >= 50 % yellow | pixels outside the box kept exactly |")
    print("|---|---:|---:|---:|")
    for method, vals in rows.items():
        print(f"| {method} | {np.mean([v[0] for v in vals]):.0%} | {np.mean([v[0] >= 0.5 for v in vals]):.0%} | "
              f"{np.mean([v[1] for v in vals]):.0%} |")
    _grid(OUTPUT / "real_raster_inpaint_grid.png", grid, ["input (box magenta)", *INPAINT_METHODS])


def raster_benchmark(prior, n: int, steps: int, seed: int, which: str, methods: list[str],
                     overrides: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if which in ("sr4", "sr8"):
            _raster_restore(prior, _restore_icons(n, seed), steps, seed, which, Path(tmp), overrides)
        elif which == "edit":
            _raster_edit(prior, n, steps, seed, methods, overrides, Path(tmp))
        else:
            _raster_inpaint(prior, _restore_icons(n, seed), steps, seed, overrides, Path(tmp))


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task", choices=["import", "edit", "restore", "raster"])
    add_prior_args(ap)
    ap.add_argument("--icons", type=int, default=30)
    ap.add_argument("--per-set", type=int, default=400, help="icons per set for 'import'")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="dreamsampler,dds")
    ap.add_argument("--degradation", default="sr4", choices=["sr4", "sr8", "blur", "inpaint"])
    ap.add_argument("--size", type=int, default=64, help="the input's size in px for 'restore'")
    ap.add_argument("--raster", default="sr4", choices=["sr4", "sr8", "edit", "inpaint"],
                    help="which raster task 'raster' measures (at the prior's size)")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="dotted options for the dreamsampler rows of edit, restore and raster edit / inpaint, e.g. "
                         "guidance=2 init_at=0.6, sampler.guidance=3")
    args = ap.parse_args()
    overrides = list(args.set)
    if args.task == "import":
        import_benchmark(args.per_set, args.seed)
    elif args.task == "edit":
        edit_benchmark(load_prior(args), args.icons, args.steps, args.seed, args.methods.split(","), overrides)
    elif args.task == "raster":
        methods = args.methods.split(",") if args.methods != "dreamsampler,dds" else ["dreamsampler", "dds", "pds"]
        raster_benchmark(load_prior(args), args.icons, args.steps, args.seed, args.raster, methods, overrides)
    else:
        restore_benchmark(load_prior(args), args.icons, args.steps, args.seed, args.degradation, args.size,
                          overrides)


if __name__ == "__main__":
    main()
