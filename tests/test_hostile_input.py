"""Hostile and malformed input: every case either works as SVG / PNG say it should, or stops with one
'dreamsampler3d: error: ...' line and exit 2, quickly, writing nothing."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest
from PIL import Image

from dreamsampler3d.cli.main import main

SVG = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" {size}>{body}</svg>'


def _svg(body: str, size: str = 'width="64" height="64"') -> str:
    return SVG.format(size=size, body=body)


def _render(tmp_path, text: str | bytes, name: str = "in.svg", extra=()):
    src = tmp_path / name
    src.write_bytes(text if isinstance(text, bytes) else text.encode())
    out = tmp_path / "out.png"
    code = main(["render-svg", str(src), "--size", "64", "--out", str(out), "--background", "white", *extra])
    return code, out


def _one_line_error(capsys, code: int, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    lines = [ln for ln in err.splitlines() if not ln.startswith("dreamsampler3d: warning")]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("dreamsampler3d: error:"), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0].lower(), (w, lines[0])
    return lines[0]


def _fan_out(levels: int, leaf: str = '<rect id="a0" width="1" height="1"/>') -> str:
    defs = [leaf]
    defs += [f'<g id="a{i}"><use xlink:href="#a{i - 1}"/><use xlink:href="#a{i - 1}"/></g>' for i in range(1, levels)]
    return _svg(f"<defs>{''.join(defs)}</defs><use xlink:href='#a{levels - 1}'/>")


@pytest.mark.parametrize("name, text, words", [
    ("use-bomb", _fan_out(40), ["elements", "<use>", "expanded", "limit"]),
    ("use-depth", _svg('<defs><rect id="a0" width="1" height="1"/>'
                       + "".join(f'<g id="a{i}"><use href="#a{i - 1}"/></g>' for i in range(1, 40))
                       + '</defs><use href="#a39"/>'), ["<use>", "nesting", "limit"]),
    ("use-cycle", _svg('<g id="a"><use href="#b"/></g><g id="b"><use href="#a"/></g>'), ["cycle"]),
    ("deep", _svg("<g>" * 10000 + '<rect width="1" height="1"/>' + "</g>" * 10000), ["nesting", "limit"]),
    ("tall", _svg('<rect width="1" height="1"/>', 'width="1" height="1e9"'), ["pixels", "limit"]),
    ("many-segments", _svg('<path d="M0 0 ' + "L1 1 L0 1 " * 150_001 + 'Z"/>'), ["segments", "limit"]),
])
def test_svg_bombs_stop_with_one_line(tmp_path, capsys, name, text, words):
    """Stopped by the limit that names them (before expanding, recursing or allocating), not by running out: the
    time they take is measured in benchmarks/hostile_input.py, not asserted here."""
    code, out = _render(tmp_path, text)
    _one_line_error(capsys, code, *words)
    assert not out.exists()


def test_use_bomb_is_refused_by_its_expanded_element_count_at_once(tmp_path, capsys, monkeypatch):
    """A 1.2 KB file of 17 levels, each a <g> of two <use> of the level below, ending in an empty <g>: 36
    elements as written, 262,141 once every <use> is expanded, and within every other limit (use nesting 17 of
    32, nothing to draw). Only the expanded count can stop it, before any expansion: a count that ignored
    <use> let this file through, to 14 s of expanding (60+ s for slightly larger ones)."""
    text = _fan_out(17, '<g id="a0"/>')
    assert len(text) < 1300
    # elements level k draws: s_0 = 1 (the leaf), s_k = 1 + 2 (1 + s_{k-1}) (its <g>, two <use> and theirs)
    sizes = [1]
    for _ in range(16):
        sizes.append(1 + 2 * (1 + sizes[-1]))
    first_over = next(s for s in sizes if s > 200_000)  # the level whose <g> is the first to pass the limit
    assert first_over == 262_141
    from dreamsampler3d.renderers.svg import svg_io

    expanded = []  # svgelements expands every <use> inside _scene: the count must refuse the file before it
    scene = svg_io._scene
    monkeypatch.setattr(svg_io, "_scene", lambda *a, **k: expanded.append(1) or scene(*a, **k))
    code, out = _render(tmp_path, text)
    line = _one_line_error(capsys, code, "elements", "<use>", "expanded", "limit")
    assert str(first_over) in re.sub(r"[,_\u202f ](?=\d)", "", line), line  # names the expanded count
    assert not expanded, "the count came after expanding"
    assert not out.exists()


def test_a_1e308_viewbox_is_no_crash(tmp_path, capsys):
    """Geometry that overflows floats is skipped with a one-line warning (it used to raise OverflowError)."""
    code, out = _render(tmp_path, _svg('<rect width="1e308" height="5e307" fill="#000000"/>',
                                          'viewBox="0 0 1e308 1e308"'))
    err = capsys.readouterr().err
    assert code == 0 and out.exists() and "Traceback" not in err and "skipped" in err


def test_render_size_is_bounded(tmp_path, capsys):
    code, out = _render(tmp_path, _svg('<rect width="10" height="10"/>'), extra=["--samples", "16"])
    code = main(["render-svg", str(tmp_path / "in.svg"), "--size", "16384", "--out", str(out)])
    _one_line_error(capsys, code, "pixels")
    # a finite aspect whose height in pixels overflows a float (found by the 20,000-file fuzz run)
    (tmp_path / "tall.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1e307">'
                                       '<rect width="1" height="1"/></svg>')
    code = main(["render-svg", str(tmp_path / "tall.svg"), "--out", str(out)])
    _one_line_error(capsys, code, "pixels")


@pytest.mark.parametrize("body", [
    # objectBoundingBox gradient on a zero-height line; singular gradientTransform
    '<defs><linearGradient id="g"><stop offset="0" stop-color="red"/><stop offset="1" stop-color="blue"/>'
    '</linearGradient></defs><path d="M5 5 L60 5" stroke="url(#g)" fill="url(#g)"/><rect width="9" height="9"/>',
    '<defs><linearGradient id="g" gradientTransform="matrix(0 0 0 0 0 0)"><stop offset="0" stop-color="red"/>'
    '</linearGradient></defs><rect width="30" height="30" fill="url(#g)"/><rect width="9" height="9"/>',
    '<foo:rect xmlns:foo="http://example.com/foo" width="9" height="9"/><rect width="9" height="9"/>',
    '<path d="M10 10 A NaN 5 0 0 1 40 40 Z" fill="red"/><rect width="9" height="9"/>',
    '<path d="M1e-320 1e-320 L2e-320 5 L5 5 Z"/><rect width="9" height="9"/>',
])
def test_awkward_svgs_render_or_fail_in_one_line(tmp_path, capsys, body):
    code, out = _render(tmp_path, _svg(body))
    if code != 0:
        _one_line_error(capsys, code)
    else:
        assert np.asarray(Image.open(out))[:9, :9].mean() < 128  # the plain black square is drawn


def test_svgz_is_read(tmp_path):
    code, out = _render(tmp_path, gzip.compress(_svg('<rect width="64" height="32" fill="#ff0000"/>').encode()),
                           name="in.svgz")
    assert code == 0 and tuple(np.asarray(Image.open(out).convert("RGB"))[5, 5]) == (255, 0, 0)


def test_zero_radius_arc_is_a_line_and_nan_opacity_is_ignored(tmp_path):
    """SVG: an arc with rx = 0 is a straight line (the path still draws); an invalid opacity is ignored."""
    from dreamsampler3d.metrics.svg_quality import render_svg  # cairosvg, over white

    text = _svg('<path d="M4 4 L60 4 A 0 5 0 0 1 60 60 L4 60 Z" fill="#0000ff" opacity="NaN"/>')
    code, out = _render(tmp_path, text)
    ours = np.asarray(Image.open(out).convert("RGB")).astype(int)
    ref = render_svg(_svg('<path d="M4 4 L60 4 L60 60 L4 60 Z" fill="#0000ff"/>'), 64).astype(int)
    assert code == 0 and np.abs(ours - ref).max() <= 2


def test_images_16_bit_scaled_and_bombs_refused(tmp_path):
    from dreamsampler3d.errors import UserError
    from dreamsampler3d.io import images

    grey = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    rgb = np.asarray(images.load_image(tmp_path / "g16.png"))
    assert abs(int(rgb[32, 32, 0]) - round(float(grey[32, 32]) / 257)) <= 1 and (rgb == 255).mean() < 0.01
    Image.new("L", (200, 200)).save(tmp_path / "big.png")
    old = images.MAX_IMAGE_PIXELS
    images.MAX_IMAGE_PIXELS = 10_000
    try:
        with pytest.raises(UserError, match="decompression bomb"):
            images.load_image(tmp_path / "big.png")
    finally:
        images.MAX_IMAGE_PIXELS = old


def test_single_colour_image_is_a_clear_error(tmp_path, capsys):
    Image.new("RGB", (32, 32), "white").save(tmp_path / "flat.png")
    code = main(["vectorize", "--image", str(tmp_path / "flat.png"), "--out", str(tmp_path / "o"), "--no-progress"])
    _one_line_error(capsys, code, "single flat colour")
    assert not (tmp_path / "o").exists()


def _yaml(tmp_path, text: str):
    p = tmp_path / f"c{abs(hash(text))}.yaml"
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("extra, words", [
    (["--seed", "-1"], ["seed"]),
    (["--seed", str(2**32)], ["seed"]),
    (["--steps", "5000"], ["steps", "training"]),
    (["prior.device=tpu"], ["prior.device"]),
    (["--config", "LIST"], ["mapping"]),
    (["--config", "ALIAS"], ["alias"]),
    (["--config", "TAG"], ["tag"]),
    (["--config", "FOLDER"], ["folder"]),
    (["--out", "FILE"], ["not a folder"]),
    (["--out", "UNDER_FILE"], ["cannot be created"]),
])
def test_bad_command_lines_fail_in_one_line_writing_nothing(tiny_folders, tmp_path, capsys, extra, words):
    (tmp_path / "file").write_text("x")
    subst = {"LIST": _yaml(tmp_path, "- a\n- b\n"),
             "ALIAS": _yaml(tmp_path, "a: &a [1, 2]\nb: [*a, *a]\n"),
             "TAG": _yaml(tmp_path, "run: !!python/object/apply:os.system ['touch pwned']\n"),
             "FOLDER": str(tmp_path), "FILE": str(tmp_path / "file"), "UNDER_FILE": str(tmp_path / "file" / "o")}
    extra = [subst.get(e, e) for e in extra]
    out = [] if "--out" in extra else ["--out", str(tmp_path / "o")]
    code = main(["generate", "--model", tiny_folders["sd1"], "--prompt", "x", *out, "--no-progress", *extra])
    _one_line_error(capsys, code, *words)
    assert not (tmp_path / "o").exists() and not (tmp_path / "pwned").exists()


def test_a_previous_runs_folder_is_not_mixed_with_a_new_run(tiny_folders, tmp_path, capsys):
    out = tmp_path / "o"
    args = ["generate", "--model", tiny_folders["sd1"], "--prompt", "x", "--steps", "2", "--out", str(out),
            "--no-progress"]
    assert main(args) == 0
    first = (out / "result.png").read_bytes()
    _one_line_error(capsys, main(args + ["--seed", "5"]), "previous run")
    assert (out / "result.png").read_bytes() == first  # untouched
    assert main(args + ["--seed", "5", "--overwrite"]) == 0
    assert "keeps the previous run's files until this run completes" in capsys.readouterr().err
    assert (out / "result.png").read_bytes() != first
    assert not (out / ".overwrite").exists()  # swapped in whole
    code = main(args + ["--overwrite", "sampler.guidance=nan"])  # fails after nothing was removed ...
    _one_line_error(capsys, code, "guidance")
    assert (out / "result.png").exists()


def test_undrawn_pixels_have_exactly_zero_alpha():
    """The prefix sums' rounding used to leave alpha ~1e-8 where no shape is; straight colours (premultiplied /
    alpha) then exceeded 1 and loss gradients on straight RGBA blew up there."""
    import torch

    from dreamsampler3d.renderers.svg import Path, Scene, Shape, render, to_straight

    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        fills = torch.rand(6, 4, generator=g) * 0.5 + 0.5  # alpha >= 0.5: real ink has alpha >= 5e-7
        shapes = [Shape([Path(torch.rand(9, 2, generator=g) * 64, [3, 3, 3], closed=True)], fill=f) for f in fills]
        img = render(Scene(64, 64, shapes), 64, 64)
        alpha = img[..., 3]
        assert not ((alpha > 0) & (alpha < 4e-7)).any()
        assert to_straight(img)[..., :3].max() <= 1.0 + 1e-5


def test_cli_waits_passively_and_leaves_a_core(tmp_path):
    """Spinning OpenMP threads stall beside any busy process, and with passive waiting one thread per core loses to
    one fewer (benchmarks/render_under_load.py): the CLI sets both unless the environment says otherwise."""
    import os
    import subprocess
    import sys

    code = ("import os, torch; from dreamsampler3d.cli import main; from dreamsampler3d.tasks import runner; "
            "default = torch.get_num_threads(); runner.leave_a_core(); "
            "print(os.environ['OMP_WAIT_POLICY'], default, torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    policy, default, threads = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                              check=True).stdout.split()
    cpus = len(os.sched_getaffinity(0))
    assert policy == "PASSIVE" and int(threads) == max(1, min(int(default), cpus - 1))
    kept = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_NUM_THREADS": "2"}, capture_output=True,
                          text=True, check=True).stdout.split()
    assert kept[2] == "2"  # the user's OMP_NUM_THREADS wins


# ------------------------------------------------------------------------------------------------------------------
# Issue 23, round two: tracebacks, slow refusals, misleading messages.
def test_render_size_help_and_check_say_what_is_accepted(tmp_path, capsys, monkeypatch):
    """`--size 16384` was advertised (by the check's own message) and refused by the pixel limit. The bound is the
    pixel limit itself: a wide picture may be that wide, a square one may not, and a width over the limit even at one
    row is refused before the file is read."""
    from dreamsampler3d.cli.render_svg import _parser
    from dreamsampler3d.renderers.svg.limits import LIMITS

    assert "16384" not in _parser().format_help()
    monkeypatch.setattr(LIMITS, "max_pixels", 128 * 32)
    (tmp_path / "wide.svg").write_text(_svg('<rect width="40" height="10"/>', 'width="40" height="10"'))
    out = tmp_path / "out.png"
    assert main(["render-svg", str(tmp_path / "wide.svg"), "--size", "128", "--out", str(out)]) == 0
    assert Image.open(out).size == (128, 32)
    (tmp_path / "in.svg").write_text(_svg('<rect width="10" height="10"/>'))
    _one_line_error(capsys, main(["render-svg", str(tmp_path / "in.svg"), "--size", "128", "--out", str(out)]),
                    "pixels", "4,096")
    line = _one_line_error(capsys, main(["render-svg", str(tmp_path / "in.svg"), "--size", "5000", "--out",
                                         str(out)]), "--size")
    assert "1..4,096" in line


@pytest.mark.parametrize("d", ["M10 10 L50 10 L10 10", "M10 10 L50 10 L10 10 Z", "M10 30 L50 30 L49 30"],
                         ids=["u-turn", "closed-u-turn", "short-u-turn"])
def test_a_u_turn_under_a_huge_miter_limit_is_bevelled(tmp_path, capsys, d):
    """stroke-miterlimit="1e6" at a U-turn: the miter is infinitely long, so SVG bevels it whatever the limit; the
    limit test passed and 0 x inf gave NaN outline points (a 'cannot convert float NaN to integer' traceback)."""
    from dreamsampler3d.metrics.svg_quality import render_svg

    text = _svg(f'<path d="{d}" fill="none" stroke="#000000" stroke-width="4" stroke-miterlimit="1e6"/>')
    code, out = _render(tmp_path, text)
    assert code == 0, capsys.readouterr().err
    ours = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert np.abs(ours - render_svg(text, 64).astype(int)).max() <= 2


def test_a_non_finite_outline_is_one_line_not_a_traceback():
    """Whatever else makes an outline NaN, the band planner says so in one line (it was int(NaN))."""
    import torch

    from dreamsampler3d.errors import UserError
    from dreamsampler3d.renderers.svg.bands import band_rows

    edges = torch.tensor([[0.0, 0.0, 10.0, 10.0], [float("nan"), 1.0, 2.0, 3.0]])
    with pytest.raises(UserError, match="non-finite"):
        band_rows(edges, 64, 64)


def test_a_1e308_viewbox_with_a_shape_in_it_becomes_a_canvas(tmp_path):
    """edit-svg on `viewBox="0 0 1e308 1e308"` holding a 10-unit square: the canvas height was 64 * 1e308 / 1e308,
    whose product overflows first (an OverflowError traceback)."""
    import torch

    from dreamsampler3d.generators.svg import SVGConfig
    from dreamsampler3d.generators.svg_from_scene import canvas_for, generator_from_scene
    from dreamsampler3d.renderers.svg.svg_io import load_svg

    assert canvas_for(1e308, 1e308, 64, 8)[:2] == (64.0, 64.0)
    assert canvas_for(1e308, 1e308, 64)[:2] == (64, 64.0)
    scene = load_svg(_svg('<rect width="10" height="10" fill="#ff0000"/>', 'viewBox="0 0 1e308 1e308"'))
    g = generator_from_scene(scene, SVGConfig(), 64, 8)
    assert (g.width, g.height) == (64.0, 64.0) and bool(torch.isfinite(g.points).all())


def test_a_one_pixel_high_image_traces(tmp_path, capsys):
    """vectorize --method trace on a 1000 x 1 image: counting visible paths rendered result.svg 256 px wide, 0.26 px
    high, and cairosvg raised 'The SVG size is undefined'."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (1, 1000, 3), dtype=np.uint8)).save(tmp_path / "thin.png")
    code = main(["vectorize", "--image", str(tmp_path / "thin.png"), "--method", "trace", "--out",
                 str(tmp_path / "o"), "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "o" / "result.svg").exists()


def test_no_shapes_in_noise_is_not_called_a_flat_colour(tmp_path, capsys):
    """Random noise has no region large enough to be a shape; the message said 'the image is a single flat
    colour' (it still does for one: test_single_colour_image_is_a_clear_error)."""
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (1, 1000, 3), dtype=np.uint8)).save(tmp_path / "noise.png")
    code = main(["vectorize", "--image", str(tmp_path / "noise.png"), "--out", str(tmp_path / "o"), "--no-progress",
                 "--steps", "2"])
    line = _one_line_error(capsys, code, "no shapes", "noise")
    assert "flat colour)" not in line
    assert not (tmp_path / "o").exists()


def test_the_vectoriser_examines_each_region_in_its_box(monkeypatch):
    """512 x 512 noise has thousands of candidate regions; each was examined on the whole up-sampled image (and
    kept whole until the largest were chosen): 300+ s and 13 GB. Now in its bounding box: about 12 s, 1.1 GB."""
    import scipy.ndimage

    from dreamsampler3d.generators.svg_init import vectorise

    shapes = []
    real = scipy.ndimage.binary_fill_holes
    monkeypatch.setattr(scipy.ndimage, "binary_fill_holes", lambda m, *a, **k: shapes.append(m.shape) or real(m, *a, **k))
    img = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    v = vectorise(img)
    assert v.outlines and len(shapes) > 24  # regions were examined, more than are kept
    assert all(h * w <= (64 * 4) ** 2 / 4 for h, w in shapes), max(shapes)


def test_the_vectoriser_traces_each_outline_in_its_box(monkeypatch):
    """A black card holding a grid of orange cells, each with a white dot: the card's interior is mostly orange,
    and each dot is a background island cut from it (svg_init._holes), 144 of them. Each was smoothed and traced
    on the whole up-sampled card: about 100 s for this picture at 512 px. Now each outline is smoothed in its own
    box (plus the filter's reach)."""
    import scipy.ndimage

    from dreamsampler3d.generators.svg_init import vectorise

    sizes = []
    real = scipy.ndimage.gaussian_filter
    monkeypatch.setattr(scipy.ndimage, "gaussian_filter", lambda m, *a, **k: sizes.append(m.size) or real(m, *a, **k))
    img = np.full((132, 132, 3), 255, np.uint8)
    img[2:130, 2:130] = 0
    for y in range(5, 125, 10):
        for x in range(5, 125, 10):
            img[y:y + 8, x:x + 8] = (230, 120, 30)
            img[y + 2:y + 6, x + 2:x + 6] = 255
    v = vectorise(img, max_paths=4)
    assert len(v.outlines[0]) > 100  # the card, cut at every one of its 144 dots
    assert max(sizes) >= (132 * 4) ** 2 * 0.9 and sorted(sizes)[-2] <= 60 ** 2, sorted(sizes)[-3:]


@pytest.mark.parametrize("name, body", [
    # 800,000 segments as implicit line-tos (two numbers each, at least 1.6 M / 7 counted), a 3.2 MB file
    ("implicit", '<path d="M0 0 L' + "1 1 0 1 " * 400_000 + 'Z"/>'),
    ("rects", '<rect width="1" height="1"/>' * 60_000),  # 60,000 elements, 240,000 segments
], ids=["implicit", "rects"])
def test_too_many_written_segments_are_refused_before_parsing(tmp_path, capsys, monkeypatch, name, body):
    """A 30 MB path took 56 s and 1.5 GB (190,000 elements 73 s) before the render's segment count refused it: the
    SVG's written segments are counted on the XML tree, before svgelements builds its objects."""
    import svgelements

    def parse(*args, **kwargs):
        raise AssertionError("svgelements parsed a file the segment count should have refused")

    monkeypatch.setattr(svgelements.SVG, "parse", parse)
    code, out = _render(tmp_path, _svg(body))
    line = _one_line_error(capsys, code, "segments written", "limit")
    assert re.search(r"at least [\d,]+ is over the limit of 200,000", line), line
    assert not out.exists()


def test_limits_print_counts_exactly_and_the_files_own_size(tmp_path, capsys, monkeypatch):
    """'3.35544e+07 is over the limit of 3.35544e+07': counts are written in full, and a file read only up to the
    limit is reported at its real size."""
    from dreamsampler3d.renderers.svg.limits import LIMITS

    monkeypatch.setattr(LIMITS, "max_bytes", 10_000_000)
    text = _svg("<!--" + "x" * 10_000_050 + "-->")
    code, out = _render(tmp_path, text)
    line = _one_line_error(capsys, code, "size in bytes")
    assert f"{len(text):,} is over the limit of 10,000,000" in line, line


def test_edit_svg_on_shapes_with_no_area_is_one_line(tmp_path, capsys):
    """A fill of a straight line passes the 'has a painted shape' check but outlines to nothing; it was a
    ValueError traceback from generator_from_scene (found by the fuzz run through edit-svg's outlines)."""
    svg = tmp_path / "flat.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
                   '<path d="M10 10 L20 10" fill="red"/></svg>')
    code = main(["edit-svg", "--svg", str(svg), "--prompt", "a red square", "--out", str(tmp_path / "o"),
                 "--no-progress"])
    _one_line_error(capsys, code, "no shape with an area")
    assert not (tmp_path / "o").exists()
