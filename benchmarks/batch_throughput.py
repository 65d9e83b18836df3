"""Batch throughput (items per minute) with 1 and 2 processes on this machine.

    python benchmarks/batch_throughput.py [--task generate] [--items 12] [--steps 50] [--model embedded]

Each configuration runs the real CLI (`dreamsampler3d batch`) in a fresh folder; the time includes process
launch and model loading, as a user would see it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPTS = ["a red star", "a blue circle", "a green square", "a yellow heart", "a purple ring", "an orange cross",
           "a pink diamond", "a black hexagon", "a white triangle on a blue background", "a brown crescent",
           "a small red circle in the top left", "a large green star"]


def run(task: str, items: int, steps: int, model: str, devices: int, threads: int, folder: Path) -> float:
    prompts = folder / "prompts.txt"
    prompts.write_text("\n".join((PROMPTS * (items // len(PROMPTS) + 1))[:items]) + "\n")
    cmd = [sys.executable, "-m", "dreamsampler3d.cli.main", "batch", "--task", task, "--prompts", str(prompts),
           "--out", str(folder / f"out{devices}"), "--devices", str(devices), "--threads", str(threads),
           "--steps", str(steps), "--model", model, "--no-progress"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="generate")
    ap.add_argument("--items", type=int, default=12)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--model", default="embedded")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for devices, threads in ((1, cores), (2, max(1, cores // 2))):
            seconds = run(args.task, args.items, args.steps, args.model, devices, threads, Path(tmp))
            rows.append((devices, threads, seconds, args.items / seconds * 60))
    print(f"\n{args.task}, {args.items} items x {args.steps} steps, model {args.model}, {cores} cores\n")
    print("| processes | threads each | wall (s) | items / minute |")
    print("|---:|---:|---:|---:|")
    for devices, threads, seconds, rate in rows:
        print(f"| {devices} | {threads} | {seconds:.1f} | {rate:.1f} |")


if __name__ == "__main__":
    main()
