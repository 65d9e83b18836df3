"""Speed and peak memory of the SVG rasteriser on random scenes, beside diffvg's CPU numbers.

    python benchmarks/svg_speed.py [--threads 2] [--repeats 5] [--device cpu] [--band-work N] [--busy]

Scenes: closed paths of 4 cubic segments (12 points: centre uniform on the canvas, points within
+-radius of it, radius 10 % of the canvas), random straight RGBA fills. "2x2" renders 2x2 subpixels
per pixel with exact area coverage each, "analytic" renders exact area coverage at 1 sample per pixel
(already box-filtered, so at least as accurate as 2x2 point sampling). Forward is timed under no_grad and
with grad on (what a training step pays before backward); forward+backward takes gradients of a
random-weighted image sum w.r.t. points and colours. Speed-up = diffvg ms / our ms (forward: no_grad). Each row
runs in its own subprocess so peak RSS (CPU) or max_memory_allocated (CUDA) belongs to it alone; peak RSS
counts from before the first call, so it includes torch's one-time start-up of the ops it runs (~16-19 MiB here:
mostly its code paged in); "after start-up" counts from after one tiny render (4 paths, 64 px, forward and
backward) in the same process: the working memory of the calls themselves.

--band-work N renders in bands of rows of about N edge pieces (the renderer's `band_work`): less memory, more
time. --busy runs every row twice, idle and beside one competing CPU-bound process, with the CLI's threading
(passive OpenMP waits, one core left to the rest of the machine), 9 calls each, and prints median and worst.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import torch

from _load import busy_core

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


def one(size: int, paths: int, samples: int, repeats: int, device: str, radius: float,
        band_work: int | None = None) -> dict:
    from dreamsampler3d.renderers.svg import render
    scene = random_scene(paths, size, 0, radius)
    if device != "cpu":
        for sh in scene.shapes:
            sh.paths[0].points = sh.paths[0].points.detach().to(device).requires_grad_()
            sh.fill = sh.fill.detach().to(device).requires_grad_()
    w = torch.rand(size, size, 4, device=device)
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tiny = render(random_scene(4, 64, 1), 64, 64, samples=samples)  # torch's one-time start-up of these ops
    (tiny * torch.rand_like(tiny)).sum().backward()
    warm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fwd, fwd_grad, both = [], [], []
    for i in range(repeats + 1):
        sync(); t0 = time.perf_counter()
        with torch.no_grad():
            render(scene, size, size, samples=samples, band_work=band_work)
        sync(); t1 = time.perf_counter()
        img = render(scene, size, size, samples=samples, band_work=band_work)
        sync(); t1b = time.perf_counter()
        (img * w).sum().backward()
        sync(); t2 = time.perf_counter()
        if i:  # first run warms up
            fwd.append(t1 - t0); fwd_grad.append(t1b - t1); both.append(t2 - t1)
    top = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak, working = (top - base) / 1024, (top - warm) / 1024  # MiB (Linux: KiB)
    if device != "cpu":
        peak = working = torch.cuda.max_memory_allocated() / 2 ** 20
    med = lambda v: 1000 * sorted(v)[len(v) // 2]  # noqa: E731
    return {"fwd": med(fwd), "fwd_grad": med(fwd_grad), "both": med(both), "peak": peak, "working": working,
            "fwd_worst": 1000 * max(fwd), "both_worst": 1000 * max(both), "threads": torch.get_num_threads()}


def _row(args: argparse.Namespace, size: int, paths: int, samples: int, busy: bool = False) -> dict:
    """One row in a fresh process; with ``busy``, beside a process spinning on one core."""
    cmd = [sys.executable, __file__, "--threads", str(args.threads), "--repeats", str(args.repeats),
           "--device", args.device, "--radius", str(args.radius), "--band-work", str(args.band_work),
           "--child", f"{size},{paths},{samples}", *(["--cli-threading"] if args.busy else [])]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE") if args.busy else None  # read when torch starts
    with busy_core(busy):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _busy_table(args: argparse.Namespace) -> None:
    print(f"\n## Idle and beside one busy process ({args.device}, the CLI's threading, {args.repeats} calls, "
          f"band work {args.band_work or 'default'})\n")
    print("| size | paths | mode | threads | fwd ms idle median / worst | busy median / worst | fwd+bwd ms idle "
          "median / worst | busy median / worst | busy / idle (median, worst) | peak MiB idle / busy |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size, paths in DIFFVG:
        for samples, mode in ((2, "2x2"), (1, "analytic")):
            i, b = _row(args, size, paths, samples), _row(args, size, paths, samples, busy=True)
            ratio = max(b["fwd"] / i["fwd"], b["both"] / i["both"]), max(b["fwd_worst"] / i["fwd_worst"],
                                                                          b["both_worst"] / i["both_worst"])
            print(f"| {size} | {paths} | {mode} | {i['threads']} | {i['fwd']:.0f} / {i['fwd_worst']:.0f} | "
                  f"{b['fwd']:.0f} / {b['fwd_worst']:.0f} | {i['both']:.0f} / {i['both_worst']:.0f} | "
                  f"{b['both']:.0f} / {b['both_worst']:.0f} | {ratio[0]:.2f}x, {ratio[1]:.2f}x | "
                  f"{i['peak']:.0f} / {b['peak']:.0f} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=None, help="calls per row (default 5, 9 with --busy)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--radius", type=float, default=0.1, help="path size as a fraction of the canvas")
    ap.add_argument("--band-work", type=int, default=0,
                    help="edge pieces per band of rows (0: the renderer's default); smaller: less memory, more time")
    ap.add_argument("--busy", action="store_true", help="idle and beside one busy process, with the CLI's "
                    "threading; 9 calls per row unless --repeats says otherwise")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--cli-threading", action="store_true", help=argparse.SUPPRESS)  # a --busy row's child
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 9 if args.busy else 5
    if args.busy and not args.child:
        _busy_table(args)
        return 0
    if args.cli_threading:  # a --busy row: the CLI's threads
        from dreamsampler3d.tasks.runner import leave_a_core

        leave_a_core()
    else:
        torch.set_num_threads(args.threads)
    if args.child:
        size, paths, samples = map(int, args.child.split(","))
        print(json.dumps(one(size, paths, samples, args.repeats, args.device, args.radius, args.band_work or None)))
        return 0
    print(f"\n## SVG rasteriser speed ({args.device}, {args.threads} threads, median of {args.repeats}; "
          f"path radius {args.radius:.0%} of canvas; band work {args.band_work or 'default'})\n")
    print("| size | paths | mode | fwd ms | fwd ms (grad on) | fwd+bwd ms | peak MiB | of it, after start-up | diffvg fwd ms | diffvg fwd+bwd ms "
          "| fwd speed-up | fwd+bwd speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (size, paths), (dfw, dbo) in DIFFVG.items():
        for samples, mode in ((2, "2x2"), (1, "analytic")):
            r = _row(args, size, paths, samples)
            print(f"| {size} | {paths} | {mode} | {r['fwd']:.0f} | {r['fwd_grad']:.0f} | {r['both']:.0f} | {r['peak']:.0f} | {r['working']:.0f} | {dfw} | {dbo} | "
                  f"{dfw / r['fwd']:.2f}x | {dbo / r['both']:.2f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
