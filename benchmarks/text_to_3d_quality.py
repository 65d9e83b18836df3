"""Text-to-3D on the embedded prior: DreamSampler vs SDS on the same budget, judged from random views.

    python benchmarks/text_to_3d_quality.py [--steps 60] [--prompts "a red cube" "a blue sphere" ...] [--picture PNG]

For each prompt and method: wall time of the whole run (Lightning, exports), the share of 8 random views
(within the training camera ranges) whose colour and shape the icon judge accepts, whether the mesh's
dominant vertex colour is the prompt's colour, and the mesh judged as a solid (metrics/solid_judge.py): the ideal
primitive it fills best over any up axis, that IoU, its pieces and the main piece's share of the volume. A solid
passes when the asked primitive is the best match with IoU >= 0.75 in one piece holding >= 95 % of the volume.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _common import add_prior_args, load_prior
from dreamsampler3d.config import build_config
from dreamsampler3d.data.judge import dominant_colour, judge_scene, pixel_labels, NAMES
from dreamsampler3d.io.images import to_uint8
from dreamsampler3d.metrics.solid_judge import IDEALS, judge_solid
from dreamsampler3d.priors.embedded import OBJECTS
from dreamsampler3d.renderers.nerf.cameras import sample_cameras
from dreamsampler3d.tasks.prepare import build_task
from dreamsampler3d.tasks.runner import execute


FULL_SUITE = [f"a {c} {p}" for p in IDEALS
              for c in ("red", "blue", "green", "yellow", "purple")] + [
    "a red cube on top of a blue cylinder", "a yellow sphere on top of a green cube",
    "a blue cone on top of a red cylinder", "a green sphere on top of a purple cylinder",
    "a purple pyramid on top of a yellow cube", "a red sphere on top of a blue cube",
    "a yellow cone on top of a green cylinder", "a blue cube on top of a red cylinder"]


def parse(prompt: str) -> tuple[str, str]:
    """(colour, shape) of a single-object prompt; of a composition's top object."""
    words = prompt.replace(",", " ").split()
    colour = next(w for w in words if w in NAMES)
    shape = words[words.index(colour) + 1]
    return colour, shape


def parse_stack(prompt: str) -> tuple[str, str] | None:
    """'a red cube on top of a blue cylinder' -> (top colour, bottom colour); None for a single object."""
    if " on top of " not in prompt:
        return None
    top, bottom = prompt.split(" on top of ")
    return parse(top)[0], parse(bottom)[0]


def stack_colours(folder: Path) -> tuple[str, str]:
    """The exported mesh's dominant named colour in its top third and its bottom third (glTF y up)."""
    mesh, labels = vertex_labels(folder)
    if mesh is None:
        return "none", "none"
    y = mesh.vertices[:, 1]
    lo, hi = float(y.min()), float(y.max())
    return dominant(labels[y > hi - (hi - lo) / 3]), dominant(labels[y < lo + (hi - lo) / 3])


def vertex_labels(folder: Path):
    """The exported mesh and the named colour index [V] nearest each vertex's colour; (None, None) when the run
    wrote no mesh (metrics.json's mesh_error says why)."""
    import trimesh

    if not (folder / "mesh.glb").is_file():
        return None, None
    mesh = trimesh.load(folder / "mesh.glb", force="mesh")
    return mesh, pixel_labels(np.asarray(mesh.visual.vertex_colors)[:, :3].astype(np.uint8)[None])[0]


def dominant(labels: np.ndarray) -> str:
    return NAMES[int(np.bincount(labels, minlength=len(NAMES)).argmax())] if len(labels) else "none"


def mesh_colour(folder: Path) -> str:
    """The named colour most vertices of the exported mesh are closest to ('none' when no mesh was written)."""
    _, labels = vertex_labels(folder)
    return "none" if labels is None else dominant(labels)


def solid(folder: Path, shape: str) -> dict:
    """The exported mesh judged as a solid; 'pass' only for a 3D primitive name."""
    import trimesh

    if not (folder / "mesh.glb").is_file():  # metrics.json's mesh_error says why (an empty field)
        return {"best": "no mesh", "iou": 0.0, "pieces": 0, "main_share": 0.0, "pass": False}
    mesh = trimesh.load(folder / "mesh.glb", force="mesh")
    if len(mesh.faces) == 0:
        return {"best": "empty", "iou": 0.0, "pieces": 0, "main_share": 0.0, "pass": False}
    j = judge_solid(mesh)
    ok = shape in IDEALS and j.best == shape and j.iou >= 0.75 and j.main_share >= 0.95
    return {"best": j.best, "iou": j.iou, "pieces": j.pieces, "main_share": j.main_share, "pass": ok}


def mesh_views(glb: Path, size: int = 128, elevation: float = 20.0, radius: float = 1.0,
               azimuths: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)) -> list[np.ndarray]:
    """The exported mesh as trimesh loads it (an independent reader of our GLB), seen from ``azimuths`` degrees:
    front faces, flat Lambert shading of the vertex colours, drawn far to near as SVG polygons and rendered by
    cairosvg (no OpenGL on a headless CPU machine; a painter's order is exact for the convex solids asked for).
    At the scene's scale (``radius``: the NeRF's box half-size), so a speck stays a speck."""
    import io

    import cairosvg
    import trimesh
    from PIL import Image

    mesh = trimesh.load(glb, force="mesh")
    verts = mesh.vertices - mesh.bounds.mean(0)  # [V, 3], y up (glTF)
    verts = verts / radius
    colours = np.asarray(mesh.visual.vertex_colors)[:, :3].astype(np.float64)[mesh.faces].mean(1)  # [F, 3]
    light = np.array([0.4, 0.7, 0.6]) / np.linalg.norm([0.4, 0.7, 0.6])
    out = []
    for az in azimuths:
        a, e = np.radians(az), np.radians(elevation)
        turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        tilt = np.array([[1, 0, 0], [0, np.cos(e), -np.sin(e)], [0, np.sin(e), np.cos(e)]])
        rot = tilt @ turn
        pts = verts @ rot.T  # [V, 3], the viewer on +z
        normals = mesh.face_normals @ rot.T  # [F, 3]
        front = np.nonzero(normals[:, 2] > 0)[0]
        order = front[np.argsort(pts[mesh.faces[front]][:, :, 2].mean(1))]  # far first
        shade = 0.35 + 0.65 * np.clip(normals @ light, 0, 1)  # [F]
        xy = np.stack([(pts[:, 0] * 0.45 + 0.5) * size, (0.5 - pts[:, 1] * 0.45) * size], 1)
        polys = []
        for f in order:
            r, g, b = (colours[f] * shade[f]).clip(0, 255).astype(int)
            p = " ".join(f"{x:.2f},{y:.2f}" for x, y in xy[mesh.faces[f]])
            polys.append(f'<polygon points="{p}" fill="rgb({r},{g},{b})" stroke="rgb({r},{g},{b})" '
                         'stroke-width="0.4"/>')
        svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">'
               f'<rect width="{size}" height="{size}" fill="white"/>{"".join(polys)}</svg>')
        png = cairosvg.svg2png(bytestring=svg.encode(), output_width=size, output_height=size)
        out.append(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
    return out


def picture_row(out: Path, size: int = 128) -> np.ndarray:
    """The run's 4 NeRF views (result.png) beside 4 views of its mesh.glb, each ``size`` px."""
    from PIL import Image

    nerf = Image.open(out / "result.png").convert("RGB")
    w = nerf.width // 4
    tiles = [np.asarray(nerf.crop((k * w, 0, (k + 1) * w, nerf.height)).resize((size, size), Image.BICUBIC))
             for k in range(4)]
    if (out / "mesh.glb").is_file():
        tiles += mesh_views(out / "mesh.glb", size)
    else:
        tiles += [np.full((size, size, 3), 255, np.uint8)] * 4
    gap = np.full((size, 6, 3), 255, np.uint8)
    return np.concatenate([np.concatenate(tiles[:4], 1), gap, np.concatenate(tiles[4:], 1)], 1)


def run_one(prior, model: str, prompt: str, method: str, steps: int, seed: int, views: int, out: Path,
            extra: list[str]) -> dict:
    """One run; `model` is what --model named, so the task asks that prior (not the default) whether it reads
    view words."""
    trajectory = "annealed" if method.endswith("-annealed") else "fixed"
    flags = {"prompt": prompt, "method": method.split("-")[0], "trajectory": trajectory, "prior": {"model": model},
             "run": {"steps": steps, "seed": seed, "out": str(out), "progress": False}}
    cfg = build_config("text-to-3d", None, extra, flags)
    module, inputs, metrics = build_task("text-to-3d", cfg, prior, None)
    start = time.perf_counter()
    execute("text-to-3d", cfg, module, inputs, metrics)
    seconds = time.perf_counter() - start
    colour, shape = parse(prompt)
    cams = sample_cameras(views, module.ranges, torch.Generator().manual_seed(1234 + seed))
    images = module.render_views(cams)
    ok_colour = ok_both = 0
    for img in images:
        arr = to_uint8(img)
        verdict = judge_scene(arr, [(colour, shape, None)])[0]
        ok_colour += verdict.colour_ok
        ok_both += verdict.colour_ok and verdict.shape_ok
    found = [judge_scene(to_uint8(img), [(colour, shape, None)])[0].found_shape for img in images]
    stack = parse_stack(prompt)
    stacked = stack_colours(out) if stack else None
    return {"prompt": prompt, "method": method, "seconds": seconds, "colour": ok_colour / views,
            "stack": stacked, "stack_ok": stack is not None and stacked == stack,
            "colour_and_shape": ok_both / views, "mesh_colour": mesh_colour(out), "solid": solid(out, shape),
            "renders_colour":
            statistics.mode(dominant_colour(to_uint8(i)) for i in images), "shapes_seen": found}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--prompts", nargs="+", default=["a red cube", "a blue sphere", "a green cylinder", "a yellow cone",
                                                     "a purple pyramid", "an orange cube"])
    ap.add_argument("--suite", choices=["full"], help="full: every primitive in 5 colours and 8 two-object stacks "
                    "(43 prompts; replaces --prompts)")
    ap.add_argument("--methods", nargs="+", default=["dreamsampler", "dreamsampler-annealed", "sds"])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--views", type=int, default=8)
    add_prior_args(ap)
    ap.add_argument("--keep", help="folder to keep the runs in")
    ap.add_argument("--picture", help="save PNG: per prompt, the first method's 4 NeRF views | 4 views of its mesh")
    ap.add_argument("--update-card", action="store_true", help="write the summary into --model's model card")
    ap.add_argument("overrides", nargs="*")
    args = ap.parse_args()
    pictured = set(args.prompts)
    if args.suite == "full":
        args.prompts = FULL_SUITE
        pictured = set(FULL_SUITE[:35:5]) | {FULL_SUITE[35]}  # each primitive once, one stack: 8 rows
    prior = load_prior(args, OBJECTS)
    rows, picture = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        for prompt in args.prompts:
            for method in args.methods:
                out = root / f"{method}-{prompt.replace(' ', '-')}"
                rows.append(run_one(prior, args.model, prompt, method, args.steps, args.seed, args.views, out, args.overrides))
                r = rows[-1]
                if args.picture and method == args.methods[0] and prompt in pictured:
                    picture.append(picture_row(out))
                print(f"{method:12s} {prompt:20s} {r['seconds']:6.1f} s  colour {r['colour']:.2f}  colour+shape "
                      f"{r['colour_and_shape']:.2f}  mesh {r['mesh_colour']}  shapes {r['shapes_seen']}", flush=True)
    if picture:
        from PIL import Image

        Path(args.picture).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate([np.pad(r, ((0, 6), (0, 0), (0, 0)), constant_values=255)
                                        for r in picture], 0)).save(args.picture)
        print(f"\npicture: {args.picture} (per prompt: 4 NeRF views | 4 views of mesh.glb)")
    print(f"\ntext-to-3d, {args.steps} sampler steps, {args.views} random views judged, {args.threads} threads\n")
    print("| prompt | method | wall (s) | views colour ok | views colour + shape ok | mesh colour | renders' colour | "
          "solid: best match (IoU) | pieces | main share | solid ok |")
    print("|---|---|---:|---:|---:|---|---|---|---:|---:|---|")
    for r in rows:
        j = r["solid"]
        verdict = (f"stack top/bottom {r['stack'][0]}/{r['stack'][1]}: {'yes' if r['stack_ok'] else 'no'}"
                   if r["stack"] else ("yes" if j["pass"] else "no"))
        print(f"| {r['prompt']} | {r['method']} | {r['seconds']:.1f} | {r['colour']:.0%} | {r['colour_and_shape']:.0%} | "
              f"{r['mesh_colour']} | {r['renders_colour']} | {j['best']} ({j['iou']:.2f}) | {j['pieces']} | "
              f"{j['main_share']:.0%} | {verdict} |")
    table = summary(rows, args.methods)
    print("\n" + table)
    if args.update_card:
        from dreamsampler3d.priors.embedded import resolve_model
        from dreamsampler3d.priors.training.card import is_object_prior, write_card

        folder = Path(resolve_model(args.model, OBJECTS))
        info = json.loads((folder / "training_info.json").read_text())
        if not is_object_prior(info):
            raise SystemExit(f"--update-card: {folder} is not a 3D-object prior; its card is not this table's")
        argv = [a for a in sys.argv[1:] if a != "--update-card"]
        write_card(folder, info, f"`python benchmarks/text_to_3d_quality.py {' '.join(argv)}` "
                   f"({len(args.prompts)} prompts, {args.steps} sampler steps, seed {args.seed}, {args.threads} "
                   f"CPU thread(s)):\n\n{table}\n\nA single object passes when the mesh's best-matching ideal "
                   "primitive is the asked one with IoU >= 0.75, in one piece holding >= 95 % of the volume.")
        print(f"model card updated: {folder / 'README.md'}")


def summary(rows: list[dict], methods: list[str]) -> str:
    """Per method: the solid judge's verdicts over single objects, stacks' colours in place, wall time."""
    lines = ["| method | single objects: solid ok | asked primitive best | mesh colour right | main piece >= 95 % | "
             "stacks: colours in place | mean wall (s) | max wall (s) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        single = [r for r in mine if not r["stack"]]
        stacks = [r for r in mine if r["stack"]]
        lines.append(f"| {method} | {sum(r['solid']['pass'] for r in single)}/{len(single)} | "
                     f"{sum(r['solid']['best'] == parse(r['prompt'])[1] for r in single)}/{len(single)} | "
                     f"{sum(r['mesh_colour'] == parse(r['prompt'])[0] for r in single)}/{len(single)} | "
                     f"{sum(r['solid']['main_share'] >= 0.95 for r in mine)}/{len(mine)} | "
                     f"{sum(r['stack_ok'] for r in stacks)}/{len(stacks)} | "
                     f"{statistics.mean(r['seconds'] for r in mine):.0f} | {max(r['seconds'] for r in mine):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
