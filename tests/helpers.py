"""Small input files written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw


def icon(path: Path, size: int = 32, colour: str = "red") -> Path:
    img = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(img).ellipse([size // 5, size // 5, size - size // 5, size - size // 5], fill=colour)
    img.save(path)
    return path


def box_mask(path: Path, size: int, box: tuple[int, int, int, int]) -> Path:
    m = Image.new("L", (size, size), 0)
    ImageDraw.Draw(m).rectangle(box, fill=255)
    m.save(path)
    return path


def gradient_mask(path: Path, size: int) -> Path:
    ramp = np.tile(np.linspace(0, 255, size, dtype=np.uint8), (size, 1))
    Image.fromarray(ramp, "L").save(path)
    return path


def icon_set_cache(root: Path) -> Path:
    """A stand-in for the fetched npm packages (data/icon_sets.py), in their own formats, so the concept pipeline
    runs without the network: emojibase entries for a rocket, a cat (tagged 'kitten'), a ring (renamed: 'ring' is a
    shape word), a skin-tone-free 'man running' beside 'person running' (dropped as a copy), and a component; two
    colour sets and the high-contrast one drawing them with plain SVG shapes."""
    import json

    from dreamsampler3d.data.icon_sets import SETS

    def write(key: str, files: dict[str, object]) -> None:
        folder = root / "icon-sets" / f"{key}-{SETS[key].version}"
        for name, content in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(json.dumps(content))
        (folder / ".complete").write_text("fixture")

    emoji = [("1F680", "rocket", ["launch", "space", "rocket"], 5), ("1F408", "cat", ["cat", "kitten", "pet"], 3),
             ("1F48D", "ring", ["diamond", "engaged"], 7), ("1F3C3", "person running", ["marathon", "running"], 1),
             ("1F3C3-200D-2642-FE0F", "man running", ["running"], 1), ("1F3FB", "light skin tone", ["skin"], 2)]
    write("emojibase", {
        "en/data.json": [{"label": label, "hexcode": code, "tags": tags, "group": g} for code, label, tags, g in emoji],
        "en/shortcodes/cldr.json": {"1F680": "rocket", "1F408": ["cat", "housecat"]},
        "en/shortcodes/emojibase.json": {"1F680": "rocket_ship"},
        "en/shortcodes/github.json": {"1F3C3": ["runner", "running"]},
        "meta/unicode-names.json": {"1F680": "ROCKET", "1F408": "CAT", "1F48D": "RING"},
    })
    bodies = {"rocket": '<path fill="#d33" d="M16 2L26 28H6z"/>', "cat": '<circle cx="16" cy="16" r="12" fill="#fa0"/>',
              "ring": '<circle cx="16" cy="18" r="9" fill="none" stroke="#888" stroke-width="3"/>',
              "person-running": '<rect x="10" y="4" width="12" height="24" fill="#36c"/>',
              "man-running": '<rect x="10" y="4" width="12" height="24" fill="#36c"/>'}
    chars = {"1f680": "rocket", "1f408": "cat", "1f48d": "ring", "1f3c3": "person-running",
             "1f3c3-200d-2642-fe0f": "man-running"}
    for key in ("fluent", "twemoji", "fluent-mono", "openmoji"):
        write(key, {"icons.json": {"prefix": key, "width": 32, "height": 32,
                                   "icons": {n: {"body": b} for n, b in bodies.items()}},
                    "chars.json": chars, "info.json": {"license": {"spdx": SETS[key].licence}}})
    for key in ("emojione", "fxemoji"):  # matched by name, not codepoint
        write(key, {"icons.json": {"prefix": key, "width": 32, "height": 32,
                                   "icons": {"rocket": {"body": bodies["rocket"]}}}})
    return root


# an OpenMoji-style icon: a coloured fill under a black 2-unit outline (72-unit viewBox)
OPENMOJI_HEART = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 72 72"><path fill="#ea5a47" d="M36 60 '
                  'C20 48 10 38 10 26 C10 17 17 11 25 11 C30 11 34 14 36 18 C38 14 42 11 47 11 C55 11 62 17 62 26 '
                  'C62 38 52 48 36 60 Z"/><path fill="none" stroke="#000" stroke-width="2" stroke-linejoin="round" '
                  'd="M36 60 C20 48 10 38 10 26 C10 17 17 11 25 11 C30 11 34 14 36 18 C38 14 42 11 47 11 '
                  'C55 11 62 17 62 26 C62 38 52 48 36 60 Z"/></svg>')


def cairo(svg: str, width: int, height: int | None = None) -> np.ndarray:
    """cairosvg's render of an SVG over white (the independent judge) -> uint8 [H, W, 3]; without ``height``, the
    document's own aspect."""
    import io

    import cairosvg

    png = cairosvg.svg2png(bytestring=svg.encode(), output_width=width, output_height=height, background_color="white")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
