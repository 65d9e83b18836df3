"""Raster edits of flat colour art go through the picture's SVG (tasks/edit_flat.py); photographs stay on the
latent. The photographs are scikit-image's bundled ones; the icons are rendered by cairosvg."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest
import torch
from PIL import Image

from dreamsampler3d.cli.main import main
from dreamsampler3d.generators.svg_init import is_flat_art
from dreamsampler3d.renderers.svg.svg_export import save_svg
from helpers import OPENMOJI_HEART, cairo

# a wide badge: a yellow card, a green circle and a purple bar (Twemoji-like flat fills, no outline)
BADGE = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 64"><rect x="4" y="8" width="88" height="48" '
         'rx="8" fill="#ffcc4d"/><circle cx="28" cy="32" r="14" fill="#3c9e46"/><rect x="50" y="24" width="34" '
         'height="16" fill="#8c52c6"/></svg>')


def _photo(name: str, side: int) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    m = min(img.shape[:2])
    return np.asarray(Image.fromarray(img[:m, :m, :3]).resize((side, side), Image.BOX))


@pytest.mark.parametrize("side", [64, 256])
def test_icons_are_flat_art_and_photographs_are_not(side):
    """The rocket launch (a clear sky: flat around most pixels, but spread over many colours) and the deep-sky
    photo (mostly one black, but grainy) each pass one of the two tests, never both."""
    for svg in (OPENMOJI_HEART, BADGE):
        assert is_flat_art(cairo(svg, side)), svg[:60]
    for name in ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "retina"):
        assert not is_flat_art(_photo(name, side)), name


@pytest.mark.parametrize("width, height", [(96, 64), (64, 96), (300, 1000), (700, 260)])
def test_the_vectorised_document_covers_the_input_pixel_for_pixel(sd1_prior, width, height):
    """A badge sits centred on the prior's canvas with margins, and one past 256 px is vectorised from a shrunk copy
    whose short side was rounded; rendered back for the paste, the input's vectorisation must land on the input's
    own pixels, not shifted by the margins nor stretched by the rounding."""
    from dreamsampler3d.tasks.edit_flat import FlatEditTask
    from dreamsampler3d.tasks.edit_svg import EditSVGOptions

    badge = BADGE.replace('viewBox="0 0 96 64"', f'viewBox="0 0 {width} {height}" preserveAspectRatio="none"')
    badge = badge.replace("<rect", f'<g transform="scale({width / 96} {height / 64})"><rect', 1)
    badge = badge.replace("</svg>", "</g></svg>")
    given = cairo(badge, width)  # [height, width, 3]
    assert given.shape[:2] == (height, width)
    task = FlatEditTask(sd1_prior, Image.fromarray(given), EditSVGOptions(prompt="a badge"), 2, 0)
    back = task._at_input_size(save_svg(task.source.scene(), size=task.output_size, decimals=2))
    got = ((back[0].permute(1, 2, 0) + 1) * 127.5).round().numpy()
    assert got.shape == given.shape
    mse = np.mean((got - given.astype(np.float64)) ** 2)
    assert 10 * np.log10(255**2 / mse) > 25
    if max(width, height) > 256:  # cropped at the rounded size and not resampled, 300 x 1000 drifted 2.6 px by its
        # bottom: mean error 1.4 there, against 0.5 now
        assert np.abs(got - given).max(-1)[3 * height // 4:].mean() < 1.0


def _blue(pixels: np.ndarray) -> float:
    """Share of the coloured pixels [N, 3] (saturation > 0.3, value > 0.25) whose hue is blue (190-260)."""
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in pixels / 255])
    coloured = (hsv[:, 1] > 0.3) & (hsv[:, 2] > 0.25)
    return float((coloured & (hsv[:, 0] * 360 >= 190) & (hsv[:, 0] * 360 <= 260)).sum() / max(coloured.sum(), 1))


@pytest.mark.slow
def test_a_64px_icon_png_edited_blue_keeps_its_outline_and_its_untouched_pixels(tmp_path):
    """On the embedded prior: 'a blue heart' for a 64 px PNG of an outlined red heart. The fill turns blue, the
    black outline stays where and what it was (on the latent, a 64 px autoencoder cannot keep a 1 px outline), and
    every pixel away from the heart is the input's own byte."""
    given = cairo(OPENMOJI_HEART.replace("</svg>", '<circle cx="66" cy="66" r="3.3" fill="#222"/></svg>'), 64)
    Image.fromarray(given).save(tmp_path / "in.png")
    assert main(["edit", "--image", str(tmp_path / "in.png"), "--prompt", "a blue heart", "--out",
                 str(tmp_path / "out"), "--no-progress"]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "result.png").convert("RGB"))
    assert got.shape == given.shape
    fill = (given[..., 0] > 200) & (given[..., 1] < 120)  # [H, W]: the red fill
    assert _blue(got[fill].astype(np.float64)) >= 0.8
    outline = given.max(-1) < 60  # the black outline's core
    assert (got[outline].max(-1) < 100).mean() >= 0.9
    heart = cairo(OPENMOJI_HEART.replace('fill="#ea5a47"', 'fill="#000"'), 64).max(-1) < 128  # the heart's silhouette
    away = ~torch.nn.functional.max_pool2d(torch.from_numpy(heart).float()[None, None], 7, 1, 3)[0, 0].bool().numpy()
    assert (got[away] == given[away]).all()
    # the dot beside the heart, anti-aliased edges included (which its vectorisation renders a little otherwise)
    assert (got[56:64, 56:64] == given[56:64, 56:64]).all()
    assert (tmp_path / "out" / "result.svg").exists()  # the edited SVG comes with it


def test_a_blank_canvas_is_edited_on_the_latent_unless_the_svg_route_is_forced(tiny_folders, tmp_path, capsys):
    """One flat colour is flat art with nothing to vectorise: the default route draws on it on the latent; forced
    through the SVG it is a one-line error before any file."""
    Image.new("RGB", (32, 32), "white").save(tmp_path / "blank.png")
    argv = ["edit", "--model", tiny_folders["sd1"], "--image", str(tmp_path / "blank.png"), "--prompt", "a blue circle",
            "--steps", "2", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "auto")]) == 0
    assert not (tmp_path / "auto" / "result.svg").exists()  # the latent edit: no SVG
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "svg"), "route=svg"]) == 2
    err = capsys.readouterr().err
    assert "no shapes found" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "svg").exists()
