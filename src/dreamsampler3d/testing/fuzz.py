"""Mutations of real SVG files, for the fuzz test (tests/test_fuzz_svg.py) and the fuzz benchmark
(benchmarks/svg_fuzz.py): every mutated file must either render or raise the project's own UserError, within
a time and memory bound."""

from __future__ import annotations

import random
import re
import time
import warnings

NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
ATTR = re.compile(rb'\s[a-zA-Z:-]+="[^"]*"')
EVIL_NUMBERS = [b"0", b"-0", b"1e308", b"-1e308", b"1e-320", b"NaN", b"inf", b"-inf", b"1e9", b"-1", b"",
                b"0.0000001", b"99999999999999999999", b"1e", b".", b"--1"]
EVIL_ATTRS = [b' opacity="NaN"', b' transform="matrix(0 0 0 0 0 0)"', b' transform="scale(1e308)"',
              b' stroke-width="1e9"', b' fill="url(#nope)"', b' viewBox="0 0 0 0"', b' width="0"',
              b' stroke-dasharray="1 1"', b' fill-rule="evenodd"', b' d="M0 0 A 0 0 0 0 1 10 10"',
              b' href="#self"', b' xlink:href="other.svg#x"', b' style="opacity:-1;fill:#zzz"',
              b' gradientTransform="rotate(NaN)"', b' r="-5"', b' points="1,2,3"',
              # stroke, miter and transform extremes (a 1e6 miter limit once gave NaN; huge strokes, outlines)
              b' stroke="red"', b' stroke="red" stroke-width="40"', b' stroke-miterlimit="1e6"',
              b' stroke-miterlimit="1e308" stroke-linejoin="miter" stroke="#000"', b' stroke-miterlimit="NaN"',
              b' stroke-linejoin="round" stroke-linecap="round" stroke="#000"', b' stroke-linecap="square"',
              b' stroke-width="1e-30"', b' stroke-width="NaN"', b' stroke-dasharray="0.001"',
              b' transform="rotate(1e308)"', b' transform="skewX(90)"', b' transform="skewY(89.9999)"',
              b' transform="matrix(1e-300 0 0 1e-300 0 0)"', b' transform="matrix(1e300 1e300 1e300 1e300 0 0)"',
              b' transform="translate(1e308 -1e308)"', b' transform="scale(-1 1e-12)"']
EVIL_ELEMENTS = [b'<use href="#a"/>', b'<g id="a"><use href="#a"/></g>', b"<g>" * 300 + b"</g>" * 300,
                 b'<path d="' + b"L1 1 " * 2000 + b'"/>', b'<text x="1">x</text>', b'<image href="x.png"/>',
                 b'<linearGradient id="z" x1="0" x2="0"/>', b'<foo:bar xmlns:foo="urn:x"/>', b"<![CDATA[x]]>",
                 b'<circle r="1e308"/>', b"<rect/>"]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random edits of one of the kinds a hostile file or a broken exporter makes."""
    out = data
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(8)
        if kind == 0 and len(out) > 1:  # flip bytes
            b = bytearray(out)
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            out = bytes(b)
        elif kind == 1:  # a number replaced by an awkward one
            nums = list(NUMBER.finditer(out))
            if nums:
                m = rng.choice(nums)
                out = out[:m.start()] + rng.choice(EVIL_NUMBERS) + out[m.end():]
        elif kind == 2:  # an attribute added to some element
            tags = [m.end() - 1 for m in re.finditer(rb"<[a-zA-Z][^<>]*?(/?)>", out)]
            if tags:
                at = rng.choice(tags)
                at = at - 1 if out[at - 1:at] == b"/" else at
                out = out[:at] + rng.choice(EVIL_ATTRS) + out[at:]
        elif kind == 3:  # an element inserted
            closes = [m.start() for m in re.finditer(rb"</[a-zA-Z]+>", out)]
            if closes:
                at = rng.choice(closes)
                out = out[:at] + rng.choice(EVIL_ELEMENTS) + out[at:]
        elif kind == 4 and len(out) > 2:  # truncated
            out = out[: rng.randrange(1, len(out))]
        elif kind == 5:  # an attribute deleted
            attrs = list(ATTR.finditer(out))
            if attrs:
                m = rng.choice(attrs)
                out = out[:m.start()] + out[m.end():]
        elif kind == 6 and len(out) > 4:  # a chunk duplicated
            a = rng.randrange(len(out))
            b = min(len(out), a + rng.randint(1, 200))
            out = out[:b] + out[a:b] + out[b:]
        else:  # a path command swapped
            cmds = [m.start() for m in re.finditer(rb"[MLHVCSQTAZmlhvcsqtaz]", out)]
            if cmds:
                at = rng.choice(cmds)
                out = out[:at] + bytes([rng.choice(b"MLHVCSQTAZmlhvcsqtaz")]) + out[at + 1:]
    return out


def check(data: bytes, size: int = 64, edit: bool = False) -> tuple[str, float]:
    """('ok' | 'user-error' | 'crash: <type>: <message>', seconds): load and render one file as render-svg does;
    with ``edit``, also turn it into editable shapes as edit-svg does (strokes outlined, every shape simplified)."""
    import torch

    from ..errors import UserError
    from ..renderers.svg import render
    from ..renderers.svg.svg_io import load_svg

    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scene = load_svg(data)
        aspect = scene.height / scene.width
        if not aspect > 0 or aspect == float("inf"):
            raise UserError("unusable aspect ratio")
        with torch.no_grad():
            render(scene, size, max(1, round(min(size * aspect, 2.0**30))))
            if edit:
                from ..generators.svg import SVGConfig
                from ..generators.svg_from_scene import generator_from_scene

                generator_from_scene(scene, SVGConfig(), size, 8)
        outcome = "ok"
    except UserError:
        outcome = "user-error"
    except Exception as exc:  # noqa: BLE001 - this is what the fuzzer looks for
        outcome = f"crash: {type(exc).__name__}: {str(exc)[:120]}"
    return outcome, time.perf_counter() - start
