"""Speed and peak memory of the SVG rasteriser on random scenes, beside diffvg's CPU numbers.

    python benchmarks/svg_speed.py [--threads 2] [--repeats 5] [--device cpu]

Scenes: closed paths of 4 cubic segments (12 points: centre uniform on the canvas, points within
+-radius of it, radius 10 % of the canvas), random straight RGBA fills. "2x2" renders 2x2 subpixels
per pixel with exact area coverage each, "analytic" renders exact area coverage at 1 sample per pixel
(already box-filtered, so at least as accurate as 2x2 point sampling). Forward is timed under no_grad and
with grad on (what a training step pays before backward); forward+backward takes gradients of a
random-weighted image sum w.r.t. points and colours. Speed-up = diffvg ms / our ms (forward: no_grad). Each row
runs in its own subprocess so peak RSS (CPU) or max_memory_allocated (CUDA) belongs to it alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

DIFFVG = {(256, 16): (59, 361), (256, 64): (109, 589), (256, 256): (355, 1931), (512, 64): (413, 2379)}


def random_scene(n: int, size: int, seed: int, radius: float = 0.1):
    from dreamsampler3d.renderers.svg import Path, Scene, Shape
    g = torch.Generator().manual_seed(seed)
    shapes = []
    for _ in range(n):
        c = torch.rand(1, 2, generator=g) * size
        pts = (c + (torch.rand(12, 2, generator=g) * 2 - 1) * radius * size).requires_grad_()
        col = torch.rand(4, generator=g).requires_grad_()
        shapes.append(Shape([Path(pts, [3, 3, 3, 3], closed=True)], fill=col))
    return Scene(size, size, shapes)


def one(size: int, paths: int, samples: int, repeats: int, device: str, radius: float) -> dict:
    from dreamsampler3d.renderers.svg import render
    scene = random_scene(paths, size, 0, radius)
    if device != "cpu":
        for sh in scene.shapes:
            sh.paths[0].points = sh.paths[0].points.detach().to(device).requires_grad_()
            sh.fill = sh.fill.detach().to(device).requires_grad_()
    w = torch.rand(size, size, 4, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fwd, fwd_grad, both = [], [], []
    for i in range(repeats + 1):
        sync(); t0 = time.perf_counter()
        with torch.no_grad():
            render(scene, size, size, samples=samples)
        sync(); t1 = time.perf_counter()
        img = render(scene, size, size, samples=samples)
        sync(); t1b = time.perf_counter()
        (img * w).sum().backward()
        sync(); t2 = time.perf_counter()
        if i:  # first run warms up
            fwd.append(t1 - t0); fwd_grad.append(t1b - t1); both.append(t2 - t1)
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024  # MiB (Linux: KiB)
    if device != "cpu":
        peak = torch.cuda.max_memory_allocated() / 2 ** 20
    med = lambda v: 1000 * sorted(v)[len(v) // 2]  # noqa: E731
    return {"fwd": med(fwd), "fwd_grad": med(fwd_grad), "both": med(both), "peak": peak}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--radius", type=float, default=0.1, help="path size as a fraction of the canvas")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.child:
        size, paths, samples = map(int, args.child.split(","))
        print(json.dumps(one(size, paths, samples, args.repeats, args.device, args.radius)))
        return 0
    print(f"\n## SVG rasteriser speed ({args.device}, {args.threads} threads, median of {args.repeats}; "
          f"path radius {args.radius:.0%} of canvas)\n")
    print("| size | paths | mode | fwd ms | fwd ms (grad on) | fwd+bwd ms | peak MiB | diffvg fwd ms | diffvg fwd+bwd ms "
          "| fwd speed-up | fwd+bwd speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (size, paths), (dfw, dbo) in DIFFVG.items():
        for samples, mode in ((2, "2x2"), (1, "analytic")):
            cmd = [sys.executable, __file__, "--threads", str(args.threads), "--repeats", str(args.repeats),
                   "--device", args.device, "--radius", str(args.radius), "--child", f"{size},{paths},{samples}"]
            r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
            print(f"| {size} | {paths} | {mode} | {r['fwd']:.0f} | {r['fwd_grad']:.0f} | {r['both']:.0f} | {r['peak']:.0f} | {dfw} | {dbo} | "
                  f"{dfw / r['fwd']:.2f}x | {dbo / r['both']:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
