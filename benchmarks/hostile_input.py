"""Every hostile or malformed input of the hardening issue, run through the real command line, one process each,
with a time and memory bound; prints what happened (exit code, seconds, the first line on stderr).

    python benchmarks/hostile_input.py [--src OTHER/src] [--timeout 30]

--src runs another checkout's code (PYTHONPATH), for a before/after table.
"""

from __future__ import annotations

import argparse
import gzip
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" {size}>{body}</svg>'


def svg(body: str, size: str = 'width="64" height="64"') -> str:
    return SVG.format(size=size, body=body)


class Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def cases(d: Path) -> list[tuple[str, list[str], str | None]]:
    """(name, argv after 'dreamsampler3d', a file whose existence means 'code ran' or None)."""
    def write(name: str, text: str | bytes) -> str:
        p = d / name
        p.write_bytes(text.encode() if isinstance(text, str) else text)
        return str(p)

    fan = ['<rect id="a0" width="1" height="1"/>']
    fan += [f'<g id="a{i}"><use xlink:href="#a{i - 1}"/><use xlink:href="#a{i - 1}"/></g>' for i in range(1, 40)]
    files = {
        "use_bomb": write("use.svg", svg(f"<defs>{''.join(fan)}</defs><use xlink:href='#a39'/>")),
        "tall": write("tall.svg", svg('<rect width="1" height="1"/>', 'width="1" height="1e9"')),
        "viewbox": write("vb.svg", svg('<rect width="1e308" height="5e307"/>', 'viewBox="0 0 1e308 1e308"')),
        "square": write("sq.svg", svg('<rect width="64" height="64" fill="red"/>')),
        "segments": write("seg.svg", svg('<path d="M0 0 ' + "L1 1 L0 1 " * 500_000 + 'Z"/>')),
        "bbox_grad": write("bbox.svg", svg('<defs><linearGradient id="g"><stop offset="0" stop-color="red"/>'
                                           '</linearGradient></defs><path d="M5 5 L60 5" stroke="url(#g)" '
                                           'fill="url(#g)"/>')),
        "singular": write("sing.svg", svg('<defs><linearGradient id="g" gradientTransform="matrix(0 0 0 0 0 0)">'
                                          '<stop offset="0" stop-color="red"/></linearGradient></defs>'
                                          '<rect width="30" height="30" fill="url(#g)"/>')),
        "nested": write("nest.svg", svg("<g>" * 10000 + '<rect width="9" height="9"/>' + "</g>" * 10000)),
        "namespace": write("ns.svg", svg('<foo:rect xmlns:foo="urn:x" width="9" height="9"/><rect width="9" height="9"/>')),
        "nan_arc": write("arc.svg", svg('<path d="M10 10 A NaN 5 0 0 1 40 40 Z"/><rect width="9" height="9"/>')),
        "denormal": write("den.svg", svg('<path d="M1e-320 1e-320 L2e-320 5 L5 5 Z"/>')),
        "svgz": write("z.svgz", gzip.compress(svg('<rect width="9" height="9"/>').encode())),
        "rx0": write("rx0.svg", svg('<path d="M4 4 L60 4 A 0 5 0 0 1 60 60 L4 60 Z" fill="blue"/>')),
        "nan_opacity": write("nanop.svg", svg('<rect width="64" height="64" fill="blue" opacity="NaN"/>')),
        "external_use": write("ext.svg", svg('<use href="other.svg#x"/><rect width="9" height="9"/>')),
        "list_yaml": write("list.yaml", "- a\n- b\n"),
        "alias_yaml": write("alias.yaml", "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                                          "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                                          "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                                          "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"),
        "tag_yaml": write("tag.yaml", f"run: !!python/object/apply:os.system ['touch {d}/tag_ran']\n"),
        "file": write("afile", "x"),
    }
    Image.fromarray((np.linspace(0, 65535, 64 * 64).reshape(64, 64)).astype(np.uint16)).save(d / "g16.png")
    Image.new("RGB", (64, 64), "white").save(d / "flat.png")
    Image.new("L", (20000, 20000)).save(d / "bomb.png", optimize=True)
    frames = [Image.new("RGB", (64, 64), c) for c in ("red", "blue")]
    frames[0].save(d / "anim.gif", save_all=True, append_images=frames[1:])
    photo = Image.new("RGB", (6000, 6000), (235, 225, 200))  # a big picture: discs on paper, with sensor noise
    draw = ImageDraw.Draw(photo)
    draw.ellipse((800, 900, 3200, 3300), fill=(200, 40, 30))
    draw.rectangle((3400, 2800, 5400, 5200), fill=(30, 70, 160))
    noise = np.random.default_rng(0).normal(0, 12, (6000, 6000, 3))
    Image.fromarray(np.clip(np.asarray(photo) + noise, 0, 255).astype(np.uint8)).save(d / "photo.png")
    with open(d / "evil.ckpt", "wb") as f:
        pickle.dump({"run_fingerprint": Payload(str(d / "ckpt_ran")), "epoch": 1}, f)
    r = ["render-svg"]
    o = ["--out", str(d / "o.png")]
    g = ["generate", "--prompt", "a red star", "--steps", "2", "--no-progress"]
    return [
        ("--resume crafted checkpoint", g + ["--out", str(d / "r1"), "--resume", str(d / "evil.ckpt")], str(d / "ckpt_ran")),
        ("<use> fan-out, render-svg", r + [files["use_bomb"]] + o, None),
        ("<use> fan-out, edit-svg", ["edit-svg", "--svg", files["use_bomb"], "--prompt", "x", "--out", str(d / "e1"), "--no-progress"], None),
        ('width="1" height="1e9"', r + [files["tall"]] + o, None),
        ("1e308 viewBox", r + [files["viewbox"]] + o, None),
        ("--size 16384 plain square", r + [files["square"], "--size", "16384"] + o, None),
        ("one path of 10^6 segments", r + [files["segments"]] + o, None),
        ("vectorize a 6000x6000 photo", ["vectorize", "--image", str(d / "photo.png"), "--steps", "2", "--out", str(d / "v1"), "--no-progress"], None),
        ("bbox gradient on a horizontal line", r + [files["bbox_grad"]] + o, None),
        ("singular gradientTransform", r + [files["singular"]] + o, None),
        ("10,000 nested <g>", r + [files["nested"]] + o, None),
        ("element in a wrong namespace", r + [files["namespace"]] + o, None),
        ("NaN arc parameters", r + [files["nan_arc"]] + o, None),
        ("denormal numbers in path data", r + [files["denormal"]] + o, None),
        ("decompression-bomb PNG", ["vectorize", "--image", str(d / "bomb.png"), "--out", str(d / "v2"), "--no-progress"], None),
        ("single-colour image, vectorize", ["vectorize", "--image", str(d / "flat.png"), "--out", str(d / "v3"), "--no-progress"], None),
        ("single-colour image, restore-svg", ["restore-svg", "--image", str(d / "flat.png"), "--degradation", "blur", "--out", str(d / "v4"), "--no-progress"], None),
        ("--seed -1", g + ["--out", str(d / "s1"), "--seed", "-1"], None),
        ("--seed 2^32", g + ["--out", str(d / "s2"), "--seed", str(2**32)], None),
        ("--steps 5000", g + ["--out", str(d / "s3"), "--steps", "5000"], None),
        ("prior.device=tpu", g + ["--out", str(d / "s4"), "prior.device=tpu"], None),
        ("--out is a file", g + ["--out", files["file"]], None),
        ("--out cannot be created", g + ["--out", files["file"] + "/sub"], None),
        ("YAML config that is a list", g + ["--out", str(d / "y1"), "--config", files["list_yaml"]], None),
        ("YAML alias bomb", g + ["--out", str(d / "y2"), "--config", files["alias_yaml"]], None),
        ("YAML unsafe tag", g + ["--out", str(d / "y3"), "--config", files["tag_yaml"]], str(d / "tag_ran")),
        ("a folder as --config", g + ["--out", str(d / "y4"), "--config", str(d)], None),
        (".svgz file", r + [files["svgz"]] + o, None),
        ("16-bit PNG", ["vectorize", "--image", str(d / "g16.png"), "--steps", "2", "--out", str(d / "b16"), "--no-progress"], None),
        ("arc with rx = 0", r + [files["rx0"], "--background", "white"] + o, None),
        ('opacity="NaN"', r + [files["nan_opacity"], "--background", "white"] + o, None),
        ("external <use href>", r + [files["external_use"]] + o, None),
        ("animated GIF", ["vectorize", "--image", str(d / "anim.gif"), "--steps", "2", "--out", str(d / "gif"), "--no-progress"], None),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", help="run this checkout's src/ instead of the installed package")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--memory-gb", type=float, default=6.0)
    args = ap.parse_args()
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="default")
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    limit = int(args.memory_gb * 2**30)
    print("| case | exit | seconds | what the user sees (first line of stderr) |")
    print("|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for name, argv, marker in cases(d):
            start = time.perf_counter()
            try:
                res = subprocess.run(
                    [sys.executable, "-c", "import sys; from dreamsampler3d.cli.main import main; sys.exit(main())", *argv],
                    env=env, capture_output=True, text=True, timeout=args.timeout,
                    preexec_fn=lambda: __import__("resource").setrlimit(__import__("resource").RLIMIT_AS, (limit, limit)))
                code, err = res.returncode, res.stderr
            except subprocess.TimeoutExpired:
                code, err = "hang", f"killed after {args.timeout:g} s"
            seconds = time.perf_counter() - start
            lines = [ln for ln in err.strip().splitlines() if ln.strip()]
            tb = any(ln.startswith("Traceback") for ln in lines)
            first = ("TRACEBACK: " + lines[-1]) if tb else (lines[0] if lines else "")
            if marker and Path(marker).exists():
                first = "CODE RAN: " + first
            print(f"| {name} | {code} | {seconds:.1f} | {first[:150].replace('|', '/')} |", flush=True)


if __name__ == "__main__":
    main()
