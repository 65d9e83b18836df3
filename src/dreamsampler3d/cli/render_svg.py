"""``dreamsampler3d render-svg IN.svg --size N --out OUT.png``: rasterise an SVG with our renderer."""

from __future__ import annotations

import argparse
import math
import sys
import warnings

from ..errors import UserError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dreamsampler3d render-svg",
                                description="rasterise an SVG file with the differentiable PyTorch rasteriser")
    p.add_argument("input", metavar="IN.svg", help="SVG file")
    p.add_argument("--size", type=int, default=256,
                   help="output width in pixels (height follows the aspect ratio); width x height x samples^2 may "
                        "be at most 67,108,864 (8192 x 8192; DREAMSAMPLER3D_MAX_PIXELS changes it)")
    p.add_argument("--out", required=True, metavar="OUT.png", help="PNG to write (straight RGBA)")
    p.add_argument("--samples", type=int, default=1, help="supersampling per axis on top of exact area coverage")
    p.add_argument("--background", default=None, help="opaque background colour, e.g. white or #ffffff")
    p.add_argument("--backend", default="auto", choices=["auto", "torch", "diffvg"], help="rasteriser backend")
    return p


def run(args: argparse.Namespace) -> None:
    import numpy as np
    import svgelements as se
    import torch
    from PIL import Image

    from ..renderers.svg import over, to_straight
    from ..renderers.svg.backend import render_scene
    from ..io.files import atomic_file
    from ..renderers.svg.svg_io import load_svg

    from ..renderers.svg.limits import LIMITS, exact

    if args.samples < 1 or args.samples > 16:
        raise UserError(f"--samples must be between 1 and 16, got {args.samples}")
    if args.size < 1 or args.size * args.samples ** 2 > LIMITS.max_pixels:  # over even at one row
        raise UserError(f"--size must lie in 1..{exact(LIMITS.max_pixels // args.samples ** 2)} "
                        f"(width x height x samples^2 at most {exact(LIMITS.max_pixels)} pixels), got {args.size}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scene = load_svg(args.input)
    for w in caught:
        print(f"dreamsampler3d: warning: {w.message}", file=sys.stderr)
    width = args.size
    aspect = scene.height / scene.width
    if not (math.isfinite(aspect) and aspect > 0):
        raise UserError(f"{args.input}: unusable aspect ratio ({scene.width:g} x {scene.height:g})")
    height = max(1, round(min(args.size * aspect, 2.0**31)))  # a huge one overflows: the pixel limit reports it
    with torch.no_grad():
        img = render_scene(scene, width, height, samples=args.samples, backend=args.backend)
    if args.background is not None:
        c = se.Color(args.background)
        if c.value is None:
            raise UserError(f"--background: not a colour: {args.background}")
        bg = torch.tensor([c.red, c.green, c.blue], dtype=img.dtype) / 255.0
        arr, mode = over(img, bg), "RGB"
    else:
        arr, mode = to_straight(img), "RGBA"
    data = (arr.clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
    try:
        atomic_file(args.out, lambda tmp: Image.fromarray(np.ascontiguousarray(data), mode).save(tmp))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot write {args.out}: {exc}") from exc


def main(argv: list[str]) -> int:
    """Entry point; returns the exit status (2 with one error line on stderr for user errors)."""
    args = _parser().parse_args(argv)
    try:
        run(args)
    except UserError as exc:
        print(f"dreamsampler3d: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
