"""Accuracy of our SVG rasteriser against cairosvg on real icon sets fetched from npm at run time.

    python benchmarks/svg_accuracy.py [--per-set 300] [--size 256] [--sets @tabler/icons,@mdi/svg,bootstrap-icons,@twemoji/svg]

Each icon is rendered at size x size by both; both images are composited over white and compared by mean
absolute error over RGB in 0..255 units. Prints the distribution and every failure (MAE > 2) with a reason
(unsupported features warned by the importer, or the largest error location). Nothing is committed.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

SETS = {
    "@tabler/icons": "package/icons/outline/",  # stroked, round caps/joins
    "@mdi/svg": "package/svg/",  # filled, single colour
    "bootstrap-icons": "package/icons/",  # filled, evenodd cut-outs
    "@twemoji/svg": "package/",  # filled, many colours and layers
}


def fetch(pkg: str, dest: Path) -> Path:
    """`npm pack` the package into dest and return the tarball path."""
    out = subprocess.run(["npm", "pack", pkg, "--silent"], cwd=dest, capture_output=True, text=True, check=True)
    return dest / out.stdout.strip().splitlines()[-1]


def icons(tgz: Path, prefix: str, count: int) -> list[tuple[str, bytes]]:
    with tarfile.open(tgz) as tf:
        names = sorted(m.name for m in tf.getmembers() if m.name.startswith(prefix) and m.name.endswith(".svg"))
        step = max(1, len(names) // count)
        picked = names[::step][:count]
        return [(n, tf.extractfile(n).read()) for n in picked]


def reference(data: bytes, size: int) -> np.ndarray:
    import cairosvg
    from PIL import Image
    png = cairosvg.svg2png(bytestring=data, output_width=size, output_height=size)
    im = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"), dtype=np.float64) / 255.0
    return im[..., :3] * im[..., 3:] + (1 - im[..., 3:])  # over white


def ours(data: bytes, size: int) -> tuple[np.ndarray, list[str]]:
    from dreamsampler3d.renderers.svg import over, render
    from dreamsampler3d.renderers.svg.svg_io import load_svg
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        scene = load_svg(data)
    with torch.no_grad():
        img = render(scene, size, size)
    return over(img).double().numpy(), [str(x.message) for x in w]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-set", type=int, default=150)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--threshold", type=float, default=2.0)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for pkg in args.sets.split(","):
            tgz = fetch(pkg, Path(tmp))
            for name, data in icons(tgz, SETS[pkg], args.per_set):
                t0 = time.perf_counter()
                try:
                    ref = reference(data, args.size)
                    got, warns = ours(data, args.size)
                    err = np.abs(got - ref) * 255.0
                    mae = float(err.mean())
                    yx = np.unravel_index(err.mean(-1).argmax(), err.shape[:2])
                    reason = "; ".join(warns) or f"max error {err.max():.0f} at (x={yx[1]}, y={yx[0]})"
                except Exception as exc:  # noqa: BLE001 - a benchmark reports, never stops
                    mae, reason = float("inf"), f"{type(exc).__name__}: {exc}"
                rows.append((pkg, name.rsplit("/", 1)[-1], mae, reason, time.perf_counter() - t0))
    maes = np.array([r[2] for r in rows])
    ok = maes <= args.threshold
    print(f"\n## SVG accuracy vs cairosvg, {len(rows)} icons at {args.size}x{args.size} (MAE over RGB on white, 0..255)\n")
    print("| set | files | <= 0.5 | <= 1 | <= 2 | <= 4 | > 4 | median | mean | pass (<= 2) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for pkg in list(dict.fromkeys(r[0] for r in rows)) + ["all"]:
        m = maes if pkg == "all" else np.array([r[2] for r in rows if r[0] == pkg])
        fin = m[np.isfinite(m)]
        print(f"| {pkg} | {len(m)} | {(m <= .5).sum()} | {(m <= 1).sum()} | {(m <= 2).sum()} | {(m <= 4).sum()} | "
              f"{(m > 4).sum()} | {np.median(m):.3f} | {fin.mean() if len(fin) else float('nan'):.3f} | "
              f"{100 * (m <= args.threshold).mean():.1f} % |")
    warned = [r for r in rows if "not supported" in r[3]]
    print(f"\nicons whose unsupported content was skipped (with a warning): {len(warned)}")
    for pkg, name, mae, reason, _ in warned[:10]:
        print(f"- {pkg} {name}: MAE {mae:.2f} - {reason}")
    fails = [r for r in rows if not r[2] <= args.threshold]
    print(f"\nfailures ({len(fails)}):")
    for pkg, name, mae, reason, _ in sorted(fails, key=lambda r: -r[2]):
        print(f"- {pkg} {name}: MAE {mae:.2f} - {reason}")
    print("\nworst five:")
    for pkg, name, mae, reason, _ in sorted(rows, key=lambda r: -r[2])[:5]:
        print(f"- {pkg} {name}: MAE {mae:.2f} - {reason}")
    print(f"\nmean time per icon (both renderers, incl. import): {1000 * np.mean([r[4] for r in rows]):.0f} ms")
    return 0 if ok.mean() >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
