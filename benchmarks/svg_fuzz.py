"""Fuzz the SVG importer and rasteriser with mutations of public icon sets fetched from npm at run time.

    python benchmarks/svg_fuzz.py [--files 20000] [--sets feather-icons,simple-icons] [--timeout 20] [--workers 2]
                                  [--no-edit]

Each mutated file (dreamsampler3d.testing.fuzz.mutate) is loaded and rendered at 64 px as render-svg does, in
worker processes: an outcome other than 'ok' or the project's own UserError is a crash; a file that takes more
than --timeout seconds is a hang (the worker is killed and replaced); each worker's address space is capped at
--memory-gb, and its peak resident memory is reported. Unless --no-edit, each file is also turned into editable
shapes as edit-svg does (strokes outlined and simplified), the path that took minutes on a 13 KB stroke. Nothing is committed.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import random
import resource
import tarfile
import tempfile
import time
from pathlib import Path

from svg_accuracy import fetch

SETS = {"feather-icons": "package/dist/icons/", "simple-icons": "package/icons/"}


def originals(names: list[str], root: Path) -> list[bytes]:
    out = []
    for pkg in names:
        with tarfile.open(fetch(pkg, root)) as tf:
            out += [tf.extractfile(m).read() for m in tf.getmembers()
                    if m.name.startswith(SETS[pkg]) and m.name.endswith(".svg")]
        print(f"{pkg}: {len(out)} files so far", flush=True)
    return out


def worker(jobs: mp.Queue, results: mp.Queue, memory_gb: float, edit: bool) -> None:
    from dreamsampler3d.testing.fuzz import check

    limit = int(memory_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        job = jobs.get()
        if job is None:
            return
        k, data = job
        results.put(("start", k, time.time()))
        outcome, seconds = check(data, edit=edit)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB
        results.put(("done", k, (outcome, seconds, peak)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--sets", default="feather-icons,simple-icons")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-gb", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-edit", action="store_true", help="only load and render (not edit-svg's outlines)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = originals(args.sets.split(","), Path(tmp))
    from dreamsampler3d.testing.fuzz import mutate

    rng = random.Random(args.seed)
    ctx = mp.get_context("spawn")
    jobs, results = ctx.Queue(), ctx.Queue()
    files = {}
    for k in range(args.files):
        files[k] = mutate(rng.choice(base), rng)
        jobs.put((k, files[k]))
    procs = [ctx.Process(target=worker, args=(jobs, results, args.memory_gb, not args.no_edit)) for _ in range(args.workers)]
    for p in procs:
        p.start()
    started: dict[int, float] = {}
    outcome: dict[int, tuple[str, float, float]] = {}
    t0 = time.time()
    while len(outcome) < args.files:
        try:
            kind, k, value = results.get(timeout=1.0)
            if kind == "start":
                started[k] = value
            else:
                outcome[k] = value
                started.pop(k, None)
        except Exception:  # noqa: BLE001 - queue.Empty: look for hung workers
            pass
        for k, since in list(started.items()):
            if time.time() - since > args.timeout:  # a hang: replace every worker (we cannot tell which)
                for p in procs:
                    p.kill()
                outcome[k] = ("hang", time.time() - since, 0.0)
                for j in started:
                    if j != k:  # interrupted innocents run again
                        jobs.put((j, files[j]))
                started.clear()
                procs = [ctx.Process(target=worker, args=(jobs, results, args.memory_gb, not args.no_edit)) for _ in range(args.workers)]
                for p in procs:
                    p.start()
                break
        if len(outcome) and len(outcome) % 2000 == 0:
            print(f"{len(outcome)}/{args.files} files, {time.time() - t0:.0f} s", flush=True)
    for _ in procs:
        jobs.put(None)
    for p in procs:
        p.join(timeout=10)
    kinds = collections.Counter(o[0] if not o[0].startswith("crash") else o[0][:100] for o in outcome.values())
    crashes = sum(v for k, v in kinds.items() if k.startswith("crash"))
    what = "load + render" if args.no_edit else "load + render + edit-svg outlines"
    print(f"\n{args.files} mutations of {len(base)} files from {args.sets} ({what}), {time.time() - t0:.0f} s\n")
    print("| outcome | files |")
    print("|---|---:|")
    for k, v in kinds.most_common():
        print(f"| {k} | {v} |")
    secs = sorted(o[1] for o in outcome.values())
    print(f"\ncrashes (exceptions other than UserError): {crashes}; hangs (> {args.timeout:g} s): {kinds['hang']}")
    print(f"slowest file: {secs[-1]:.2f} s, median {secs[len(secs) // 2] * 1000:.0f} ms; peak worker RSS "
          f"{max(o[2] for o in outcome.values()):.0f} MiB (address space capped at {args.memory_gb:g} GiB)")


if __name__ == "__main__":
    main()
