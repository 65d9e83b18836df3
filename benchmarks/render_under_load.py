"""Render and UNet call times with OpenMP's default (spinning) and passive wait policies, on an idle machine and
beside a busy process (a user's laptop is always busy with something).

    python benchmarks/render_under_load.py [--calls 40]

Each configuration runs in a fresh process (the policy is read when torch starts); the load is one Python
process spinning on one core. Prints median and 90th-percentile milliseconds per call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from _load import busy_core

CHILD = r"""
import json, sys, time, torch
from dreamsampler3d.generators.svg import circle_points
from dreamsampler3d.renderers.svg import Path, Scene, Shape, render
torch.set_num_threads(int(sys.argv[1]))
g = torch.Generator().manual_seed(0)
shapes = [Shape([Path(circle_points(torch.rand(2, generator=g) * 64, torch.tensor(8.0), 4), [3] * 4, True)],
                fill=torch.rand(4, generator=g)) for _ in range(16)]
scene = Scene(64, 64, shapes)
from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
from dreamsampler3d.priors.embedded import resolve_model
prior = DiffusionPrior.from_pretrained(resolve_model("embedded"))
cond, null = prior.encode_text("a red star"), prior.encode_text("")
z = torch.randn(1, 4, 16, 16)
calls = {"render 256 px, 16 paths": lambda: render(scene, 256, 256),
         "UNet CFG call (embedded prior)": lambda: prior.eps(z, 500, [null, cond])}
out = {}
for name, f in calls.items():
    f()
    ts = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort()
    out[name] = (ts[len(ts) // 2] * 1000, ts[int(len(ts) * 0.9)] * 1000)
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=40)
    args = ap.parse_args()
    rows = []
    for load in (False, True):
        with busy_core(load):
            for policy in ("ACTIVE", "PASSIVE"):
                for threads in (1, 2):
                    env = dict(os.environ, OMP_WAIT_POLICY=policy)
                    res = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(args.calls)], env=env,
                                         capture_output=True, text=True, check=True)
                    for name, (med, p90) in json.loads(res.stdout.strip().splitlines()[-1]).items():
                        rows.append((name, "busy" if load else "idle", policy, threads, med, p90))
    print("| call | machine | OMP_WAIT_POLICY | threads | median ms | p90 ms |")
    print("|---|---|---|---:|---:|---:|")
    for r in sorted(rows):
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.1f} |")


if __name__ == "__main__":
    main()
