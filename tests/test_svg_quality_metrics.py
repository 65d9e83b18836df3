"""SVG quality metrics measured from real SVG text through real cairosvg renders (no mocks)."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

pytest.importorskip("cairosvg")
pytest.importorskip("svgelements")

from dreamsampler3d.data.icons import COLOURS, SHAPES, shape_svg  # noqa: E402
from dreamsampler3d.metrics import (count_visible, drawable_elements, path_segments,  # noqa: E402
                                    render_svg, self_intersecting, stray_ink, svg_report,
                                    visible_elements)

RED, GREEN, WHITE, GREY = COLOURS["red"], COLOURS["green"], COLOURS["white"], COLOURS["grey"]
STAR = "128,28 152,96 224,96 166,138 188,208 128,166 68,208 90,138 32,96 104,96"


def _hex(rgb):
    return "#%02x%02x%02x" % rgb


def doc(body: str, w: int = 256, h: int = 256) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}">{body}</svg>')


# A grey background, a visible red disc, a blue disc fully covered by an opaque green square
# (both in a transformed group), a fully transparent path and a 0.3 px dot.
SCENE = doc(
    f'<rect x="0" y="0" width="256" height="256" fill="{_hex(GREY)}"/>'
    f'<circle cx="60" cy="60" r="30" fill="{_hex(RED)}"/>'
    '<g transform="translate(150 150)">'
    '<circle cx="40" cy="40" r="25" fill="#1e46dc"/>'
    f'<rect x="0" y="0" width="80" height="80" fill="{_hex(GREEN)}"/></g>'
    '<path d="M 150 20 L 230 20 L 230 100 Z" fill="#ff8c00" fill-opacity="0"/>'
    '<circle cx="40" cy="200" r="0.15" fill="#141414"/>')


# ---------------------------------------------------------------- rendering


def test_render_svg_shape_white_composite_and_aspect():
    img = render_svg(doc(f'<rect x="0" y="0" width="128" height="256" fill="{_hex(RED)}"/>'), 64)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert tuple(img[32, 10]) == RED            # painted half
    assert tuple(img[32, 54]) == (255, 255, 255)  # transparent half composited over white
    wide = render_svg(doc('<rect width="200" height="100" fill="black"/>', w=200, h=100), 64)
    assert wide.shape == (32, 64, 3)              # aspect kept, not stretched


# ---------------------------------------------------------------- visibility


def test_drawable_elements_include_groups_and_skip_defs():
    svg = doc('<defs><path id="p" d="M0 0 L9 9"/></defs>' + SCENE[SCENE.index(">") + 1:-6])
    tags = [el.tag.split("}")[-1] for el in drawable_elements(svg)]
    assert tags == ["rect", "circle", "circle", "rect", "path", "circle"]


def test_visible_elements_covered_transparent_tiny_are_not_visible():
    assert visible_elements(SCENE) == [True, True, False, True, False, False]
    assert count_visible(SCENE) == 3


def test_visible_elements_min_fraction_boundary():
    # discs of ~100 px and ~200 px area at 256 px; the default threshold is 131 px (0.2 %)
    svg = doc('<circle cx="60" cy="60" r="5.6" fill="black"/>'
              '<circle cx="180" cy="180" r="8" fill="black"/>')
    assert visible_elements(svg) == [False, True]


def test_visibility_deletion_keeps_valid_svg_namespace():
    # the text re-rendered after a deletion must still be an un-prefixed SVG document
    from dreamsampler3d.metrics.svg_quality import _parse, _to_text

    text = _to_text(_parse(SCENE))
    assert text.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in text
    assert ET.fromstring(text).tag == "{http://www.w3.org/2000/svg}svg"


# ---------------------------------------------------------------- stray ink


def _star_scene(extra: str = "") -> np.ndarray:
    return render_svg(doc(f'<rect width="256" height="256" fill="{_hex(WHITE)}"/>'
                          f'<polygon points="{STAR}" fill="{_hex(RED)}"/>' + extra))


def test_stray_ink_clean_star_is_zero():
    img = _star_scene()
    assert stray_ink(img, WHITE, [RED]) < 1e-4


def test_stray_ink_tolerates_small_colour_drift():
    # an optimised fill ~22 RGB units off the named red is still "red", not stray ink
    img = render_svg(doc(f'<rect width="256" height="256" fill="{_hex(WHITE)}"/>'
                         f'<polygon points="{STAR}" fill="#e82328"/>'))
    assert stray_ink(img, WHITE, [RED]) < 1e-4


def test_stray_ink_band_excludes_antialiased_rim_only():
    img = _star_scene()
    # without the band the star's anti-aliased rim is (wrongly) counted as stray
    assert stray_ink(img, WHITE, [RED], band=0) > 1e-3


def test_stray_ink_translucent_blob_counts():
    blob = f'<circle cx="220" cy="225" r="22" fill="{_hex(GREEN)}" fill-opacity="0.5"/>'
    img = _star_scene(blob)
    frac = stray_ink(img, WHITE, [RED])
    assert frac > 0.01                      # pi * 22^2 / 256^2 ~ 2.3 % of the picture
    assert frac < 0.03
    # even asking for green does not explain a half-transparent green
    assert stray_ink(img, WHITE, [RED, GREEN]) > 0.01


def test_stray_ink_unasked_opaque_disc_counts_and_asked_one_does_not():
    img = _star_scene(f'<circle cx="220" cy="225" r="22" fill="{_hex(GREEN)}"/>')
    assert stray_ink(img, WHITE, [RED]) > 0.01
    assert stray_ink(img, WHITE, [RED, GREEN]) < 1e-4


# ---------------------------------------------------------------- segments


def test_path_segments_exact_counts():
    svg = doc('<path d="M0 0 L10 0 L10 10 Z"/>'                     # 2 lines + closing line
              '<path d="M0 0 L10 0 L10 10 L0 0 Z"/>'                # zero-length close ignored
              '<path d="M0 0 C1 1 2 2 3 3 Q4 4 5 0 A2 2 0 0 1 0 0"/>'  # cubic, quad, arc
              '<path d="M0 0 H10 V10 Z M20 20 h5 v5 h-5 z"/>'       # 3 + 4
              '<g transform="scale(2)"><rect x="1" y="1" width="5" height="5"/></g>'
              '<circle cx="50" cy="50" r="5"/><ellipse cx="50" cy="50" rx="5" ry="2"/>'
              '<polygon points="0,0 10,0 10,10 5,15 0,10"/>'
              '<polyline points="0,0 10,0 10,10" fill="none" stroke="black"/>'
              '<line x1="0" y1="0" x2="5" y2="5" stroke="black"/>')
    assert path_segments(svg) == [3, 3, 3, 7, 4, 4, 4, 5, 2, 1]


# ---------------------------------------------------------------- self-intersection


def _si(body: str) -> bool:
    (flag,) = self_intersecting(doc(body, 100, 100))
    return flag


RING = ("M 50 10 A 40 40 0 1 0 50 90 A 40 40 0 1 0 50 10 Z "
        "M 50 30 A 20 20 0 1 0 50 70 A 20 20 0 1 0 50 30 Z")


@pytest.mark.parametrize("body", [
    '<path d="M10 10 L90 90 L90 10 L10 90 Z" fill="red"/>',           # bow-tie
    '<path d="M 0 0 C 150 100, -50 100, 100 0 Z" fill="red"/>',       # cubic with a loop
    '<path d="M0 0 L10 10 L20 20 L20 0 L10 10 L0 20 Z" fill="red"/>',  # crossing at a vertex
    '<path d="M0 0 H20 V20 H0 Z M10 10 H30 V30 H10 Z" fill="red"/>',  # two subpaths cross
    '<path d="M0 0 H10 V10 H0 Z M10 0 H20 V10 H10 Z" fill="red"/>',   # shared side (overlap)
    '<path d="M0 0 H20 V20 H10 V30 V20 H0 Z" fill="red"/>',           # zero-width spike
], ids=["bowtie", "cubic-loop", "vertex-cross", "subpaths-cross", "collinear-overlap",
        "fold-back"])
def test_self_intersecting_flags(body):
    assert _si(body)


@pytest.mark.parametrize("body", [
    '<circle cx="50" cy="50" r="40" fill="red"/>',
    f'<polygon points="{STAR}" fill="red" transform="scale(0.4)"/>',
    f'<path d="{RING}" fill="red" fill-rule="evenodd"/>',
    '<rect x="10" y="10" width="80" height="80" fill="red"/>',
    '<path d="M0 0 L10 10 L20 0 L20 20 L10 10 L0 20 Z" fill="red"/>',  # pinch: touch only
    '<path d="M0 0 H20 V20 H0 Z M10 0 L15 10 L5 10 Z" fill="red" fill-rule="evenodd"/>',
    '<polyline points="0,0 20,20 20,0 0,20" fill="none" stroke="black"/>',  # unfilled
], ids=["circle", "star", "ring-evenodd", "square", "pinch", "hole-touches-edge", "stroke-only"])
def test_self_intersecting_clean(body):
    assert not _si(body)


def test_project_shapes_are_not_self_intersecting():
    body = "".join(shape_svg(s, 32, 32, 20, "#dc141e") for s in SHAPES)
    assert self_intersecting(doc(body, 64, 64)) == [False] * len(SHAPES)


# ---------------------------------------------------------------- report


def test_svg_report_keys_and_values():
    rep = svg_report(SCENE, background=GREY, colours=[RED, GREEN])
    assert rep["paths"] == 6 and rep["visible_paths"] == 3
    assert rep["file_bytes"] == len(SCENE.encode("utf-8"))
    assert rep["segments_total"] == 4 + 4 + 4 + 4 + 3 + 4
    assert rep["segments_per_visible_path"] == pytest.approx(4.0)
    assert rep["self_intersecting"] == 0
    assert rep["stray_ink"] < 1e-3
    assert "stray_ink" not in svg_report(SCENE, size=64)
