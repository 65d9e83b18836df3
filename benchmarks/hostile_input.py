"""Every hostile or malformed input of the hardening issue, run through the real command line, one process each,
with a time and memory bound; prints what happened (exit code, seconds, the first line on stderr).

    python benchmarks/hostile_input.py [--src OTHER/src] [--timeout 30] [--round 1|2|all]

--src runs another checkout's code (PYTHONPATH), for a before/after table. Round 1: the first hardening issue's
cases; round 2: the second's (work-setting bounds, crafted checkpoint fields, stroke extremes, slow refusals).
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


def _writer(d: Path):
    """write(name, text or bytes) -> the path of a new file in d."""
    def write(name: str, text: str | bytes) -> str:
        p = d / name
        p.write_bytes(text.encode() if isinstance(text, str) else text)
        return str(p)

    return write


def cases(d: Path) -> list[tuple[str, list[str], str | None]]:
    """(name, argv after 'dreamsampler3d', a file whose existence means 'code ran' or None)."""
    write = _writer(d)

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


def _crafted_checkpoints(d: Path, env: dict, g: list[str]) -> dict[str, str]:
    """Checkpoints of a real run of ``g`` (the fingerprint right), each with one field edited as a crafted file
    would: these are what the fingerprint cannot catch."""
    import torch

    run = d / "ckpt_run"
    subprocess.run([sys.executable, "-m", "dreamsampler3d.cli.main", *g, "--steps", "4", "run.checkpoint_every=1",
                    "--out", str(run)], env=env, capture_output=True, timeout=300)
    source = run / "checkpoints" / "last.ckpt"
    if not source.is_file():
        return {}
    edits = {
        "NaN latent": lambda c, k: c["sampler_state"][k].fill_(float("nan")),
        "8x8 latent": lambda c, k: c["sampler_state"].__setitem__(k, c["sampler_state"][k][..., :8, :8].clone()),
        "1x4x4000x4000 latent in 9 KB": lambda c, k: c["sampler_state"].__setitem__(
            k, torch.zeros(1, 1, 1, 1).expand(1, 4, 4000, 4000)),
        "done=-5": lambda c, k: c["sampler_state"].__setitem__("done", torch.tensor(-5)),
        "bad RNG state": lambda c, k: c.__setitem__("sampler_rng", torch.zeros(10, dtype=torch.uint8)),
        "missing RNG state": lambda c, k: c.pop("sampler_rng"),
    }
    out = {}
    for name, edit in edits.items():
        ckpt = torch.load(source, map_location="cpu", weights_only=True)
        key = next(k for k, v in ckpt["sampler_state"].items() if v.dim() == 4)
        edit(ckpt, key)
        path = d / f"crafted-{len(out)}.ckpt"
        torch.save(ckpt, path)
        out[name] = str(path)
    return out


def round_two(d: Path, env: dict) -> list[tuple[str, list, str | None]]:
    """The second hardening issue's cases."""
    write = _writer(d)

    zigzag = " ".join(f"L{10 + (k % 40)} {10 + 1.3 * (k % 37)}" for k in range(1100))
    stroked = write("stroked.svg", svg(f'<path d="M10 10 {zigzag}" fill="none" stroke="black" stroke-width="2" '
                                       'stroke-linejoin="round" stroke-linecap="round"/>'))
    miter = write("miter.svg", svg('<path d="M10 10 L50 10 L10 10" fill="none" stroke="red" stroke-width="4" '
                                   'stroke-miterlimit="1e6"/>'))
    big_viewbox = write("vb2.svg", svg('<rect width="5e307" height="5e307" fill="red"/>', 'viewBox="0 0 1e308 1e308"'))
    flat_fill = write("flatfill.svg", svg('<path d="M10 10 L20 10" fill="red"/>'))
    from dreamsampler3d.renderers.svg.limits import LIMITS

    head = '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><path d="M0 0 '
    body = "L1 1 " * ((LIMITS.max_bytes - len(head)) // 5 + 1)
    over = write("over.svg", head + body + '"/></svg>')
    within = write("within.svg", head + "L1 1 " * (30_000_000 // 5) + '"/></svg>')
    many = write("many.svg", svg('<rect width="1" height="1"/>' * 190_000))
    Image.fromarray(np.full((1, 1000, 3), 200, np.uint8)).save(d / "line.png")
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(d / "noise.png")
    disc = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(disc).ellipse((12, 12, 52, 52), fill=(220, 30, 30))
    disc.save(d / "disc.png")
    g = ["generate", "--prompt", "a red star", "--no-progress"]
    v = ["vectorize", "--image", str(d / "disc.png"), "--steps", "2", "--no-progress"]
    cases = [
        ("edit-svg, 13 KB round-joined stroke", ["edit-svg", "--svg", stroked, "--prompt", "a red zigzag", "--steps", "2",
                                                 "--out", str(d / "z1"), "--no-progress"], None),
        ("vectorize output_size=30000", [*v, "--out", str(d / "w1"), "output_size=30000"], None),
        ("vectorize output_size=100000", [*v, "--out", str(d / "w2"), "output_size=100000"], None),
        ("svg.num_paths=2000 svg.init=blobs", ["text-to-svg", "--prompt", "a red star", "--steps", "2", "--out",
                                               str(d / "w3"), "svg.num_paths=2000", "svg.init=blobs", "--no-progress"], None),
        ("render-svg --size 16384 (advertised)", ["render-svg", miter, "--size", "16384",
                                                  "--out", str(d / "big.png")], None),
        ("generate --steps 1000", [*g, "--steps", "1000", "--out", str(d / "s1000")], None),
        ("stroke-miterlimit=1e6", ["render-svg", miter, "--out", str(d / "m.png")], None),
        ("edit-svg on a 1e308 viewBox", ["edit-svg", "--svg", big_viewbox, "--prompt", "a blue square", "--steps", "2",
                                         "--out", str(d / "z2"), "--no-progress"], None),
        ("edit-svg on a fill of no area", ["edit-svg", "--svg", flat_fill, "--prompt", "a blue square", "--steps",
                                           "2", "--out", str(d / "z3"), "--no-progress"], None),
        ("vectorize --method trace, 1000x1 image", ["vectorize", "--image", str(d / "line.png"), "--method", "trace",
                                                   "--out", str(d / "t1"), "--no-progress"], None),
        ("prompt with a byte that is not UTF-8", [*g[:1], "--prompt", b"a \xff cat", *g[3:], "--steps", "2", "--out",
                                                  str(d / "u1")], None),
        ("--out /proc/x", [*g, "--steps", "2", "--out", "/proc/x"], None),
        ("a file one byte over max_bytes", ["render-svg", over, "--out", str(d / "o1.png")], None),
        ("a 30 MB path inside the byte limit", ["render-svg", within, "--out", str(d / "o2.png")], None),
        ("190,000 elements", ["render-svg", many, "--out", str(d / "o3.png")], None),
        ("restore-svg on random noise", ["restore-svg", "--image", str(d / "noise.png"), "--degradation", "blur",
                                         "--steps", "2", "--out", str(d / "n1"), "--no-progress"], None),
    ]
    for name, path in _crafted_checkpoints(d, env, g).items():
        cases.append((f"--resume, {name}", [*g, "--steps", "4", "run.checkpoint_every=1", "--out", str(d / f"c{len(cases)}"),
                                            "--resume", path], None))
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", help="run this checkout's src/ instead of the installed package")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--memory-gb", type=float, default=6.0)
    ap.add_argument("--round", choices=["1", "2", "all"], default="all")
    args = ap.parse_args()
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONWARNINGS="default")
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve())
    limit = int(args.memory_gb * 2**30)
    print("| case | exit | seconds | what the user sees (the error line, else the first line of stderr) |")
    print("|---|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        todo = (cases(d) if args.round in ("1", "all") else []) + (round_two(d, env) if args.round in ("2", "all") else [])
        for name, argv, marker in todo:
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
            errors = [ln for ln in lines if ln.startswith("dreamsampler3d: error")]  # past any notes
            first = ("TRACEBACK: " + lines[-1]) if tb else (errors or lines or [""])[0]
            if marker and Path(marker).exists():
                first = "CODE RAN: " + first
            print(f"| {name} | {code} | {seconds:.1f} | {first[:150].replace('|', '/')} |", flush=True)


if __name__ == "__main__":
    main()
