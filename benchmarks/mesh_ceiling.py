"""How good a mesh text-to-3D's exporter can make: a NeRF fitted to a primitive's own views, meshed two ways.

    python benchmarks/mesh_ceiling.py [--shapes cube sphere ...] [--steps 300] [--picture PNG]

Score distillation can at best give the field that reconstruction from the object's true views gives. Each
primitive of data/objects3d.py is rendered unshaded from 24 cameras in text-to-3D's ranges; a NeRF (the task's
default field) is fitted to them, two random views per step at 32 px; its density grid is then meshed

- the old way: marching cubes at density min(10, max/2), no pocket filling;
- the way text-to-3D exports now: the level whose silhouettes match the renders (``silhouette_level``), the
  pockets the surface encloses filled (``fill_pockets``) and parts thinner than 3 cells dropped (``drop_hairs``);

and both are tidied as the task does (main pieces, smoothed, y-up) and judged as solids (metrics/solid_judge.py):
best-matching ideal, the asked ideal's IoU, pieces, and the mesh's volume against the true primitive's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from dreamsampler3d.data.objects3d import PRIMITIVES, Part, render
from dreamsampler3d.generators.mesh_tidy import tidy
from dreamsampler3d.generators.nerf import NeRFGenerator, fixed_level
from dreamsampler3d.metrics.solid_judge import judge_solid
from dreamsampler3d.renderers.nerf.cameras import CameraRanges, Cameras, sample_cameras, surface_cameras
from dreamsampler3d.tasks.text_to_3d import TextTo3DOptions


def task_ranges(elevation: list[float] | None = None) -> CameraRanges:
    """Text-to-3D's camera ranges, with another elevation range (--elevation LO HI) if given."""
    o = TextTo3DOptions() if elevation is None else TextTo3DOptions(elevation=list(elevation))
    return o.camera_ranges()


def true_views(shape: str, n: int = 24, size: int = 32, seed: int = 0,
               elevation: list[float] | None = None) -> tuple[Cameras, torch.Tensor]:
    """n random cameras in text-to-3D's ranges and the primitive's unshaded views [n, 3, S, S] in [0, 1]."""
    cams = sample_cameras(n, task_ranges(elevation), torch.Generator().manual_seed(seed))
    images = render([Part(shape, "red")], cams, size, torch.tensor([0.0, 0.0, 1.0]), ambient=1.0)
    return cams, torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def fit(cams: Cameras, images: torch.Tensor, steps: int, seed: int = 0) -> NeRFGenerator:
    """The default NeRF fitted to the views by photometric loss, two views a step."""
    torch.manual_seed(seed)
    nerf = NeRFGenerator()
    opt = torch.optim.Adam(nerf.parameter_groups())
    g = torch.Generator().manual_seed(seed)
    size = images.shape[-1]
    for step in range(steps):
        pick = torch.randperm(len(cams), generator=g)[:2]
        out = nerf.render(cams[pick], size, size, jitter=True, generator=g, step=step)
        loss = torch.nn.functional.mse_loss(out["rgb"], images[pick])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return nerf


def true_volume(shape: str) -> float:
    """The primitive's volume by Monte Carlo on its signed distance (the judge's ideals have other proportions)."""
    from dreamsampler3d.data.objects3d import primitive_sdf

    p = (torch.rand(400_000, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1) * 0.7
    return float((primitive_sdf(shape, p) < 0).float().mean()) * 1.4 ** 3


def judged(mesh, shape: str) -> dict:
    mesh, _ = tidy(mesh)
    j = judge_solid(mesh)
    return {"best": j.best, "iou": j.ious[shape], "pieces": j.pieces,
            "volume": abs(float(mesh.volume)) / true_volume(shape) if mesh.is_watertight else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", nargs="+", default=list(PRIMITIVES))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--resolution", type=int, default=96, help="marching-cubes grid (text-to-3D's default)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--picture", type=Path, help="write the new meshes' views here (PNG)")
    ap.add_argument("--elevation", type=float, nargs=2, metavar=("LO", "HI"),
                    help="camera elevation range in degrees (default: text-to-3D's)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows, tiles = [], []
    for shape in args.shapes:
        t0 = time.perf_counter()
        nerf = fit(*true_views(shape, elevation=args.elevation), args.steps)
        fit_s = time.perf_counter() - t0
        level = fixed_level(nerf.density_grid(args.resolution)[0])
        old = judged(nerf.extract_mesh(args.resolution, threshold=level, fill=False), shape)
        new_mesh = nerf.extract_mesh(args.resolution, cameras=surface_cameras(task_ranges(args.elevation)))
        new = judged(new_mesh.copy(), shape)
        rows.append((shape, fit_s, old, new))
        print(f"{shape}: fit {fit_s:.0f} s; old {old}; new {new}", flush=True)
        if args.picture:
            from text_to_3d_quality import mesh_views

            tiles.append(np.concatenate(list(mesh_views_of(new_mesh, mesh_views)), axis=1))
    print("\n| primitive | fit (s) | old: best | old: IoU | old: volume | new: best | new: IoU | new: volume | new: pieces |")
    print("|---|---:|---|---:|---:|---|---:|---:|---:|")
    for shape, fit_s, old, new in rows:
        print(f"| {shape} | {fit_s:.0f} | {old['best']} | {old['iou']:.2f} | {old['volume']:.2f} | {new['best']} | "
              f"{new['iou']:.2f} | {new['volume']:.2f} | {new['pieces']} |")
    hits = sum(new["best"] == shape and new["iou"] >= 0.75 for shape, _, _, new in rows)
    print(f"\nnew extraction: asked primitive best with IoU >= 0.75 on {hits}/{len(rows)}; "
          f"old: {sum(old['best'] == s and old['iou'] >= 0.75 for s, _, old, _ in rows)}/{len(rows)}")
    if args.picture and tiles:
        from PIL import Image

        Image.fromarray(np.concatenate(tiles, axis=0)).save(args.picture)
        print(f"wrote {args.picture}")


def mesh_views_of(mesh, mesh_views) -> list[np.ndarray]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        m, _ = tidy(mesh)
        m.export(Path(tmp) / "m.glb")
        return mesh_views(Path(tmp) / "m.glb")


if __name__ == "__main__":
    main()
