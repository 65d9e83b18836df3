"""Raster results at the input's own size: the change comes back from the prior's working size, every other pixel
is the input's (tasks/full_size.py)."""

from __future__ import annotations

import json

import numpy as np
import torch
from PIL import Image, ImageDraw

from dreamsampler3d.cli.main import main
from dreamsampler3d.tasks.full_size import changed_region, paste_back


def _picture(path, size=100):
    img = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(img).ellipse([size // 5, size // 5, size - size // 5, size - size // 5], fill=(220, 20, 30))
    img.save(path)
    return np.asarray(img)


def test_paste_back_keeps_unchanged_pixels_and_upsamples_the_change():
    full = Image.fromarray(np.full((40, 60, 3), 200, np.uint8))
    result = torch.full((1, 3, 8, 12), 200 / 127.5 - 1)
    result[..., 2:4, 3:5] = 1.0  # a white patch at working size
    region = changed_region(torch.full_like(result, 200 / 127.5 - 1), result)
    out = ((paste_back(full, result, region)[0].permute(1, 2, 0) + 1) * 127.5).round().numpy()
    assert out.shape == (40, 60, 3)
    assert (out[30:, :] == 200).all() and (out[:, 40:] == 200).all()  # far from the patch: the input exactly
    assert out[15, 20].min() > 240  # inside the patch: the change


def test_inpaint_result_has_the_input_size_and_keeps_the_unmasked_pixels(tmp_path):
    source = _picture(tmp_path / "in.png")
    mask = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(mask).rectangle([55, 55, 95, 95], fill=255)
    mask.save(tmp_path / "m.png")
    assert main(["inpaint", "--image", str(tmp_path / "in.png"), "--mask", str(tmp_path / "m.png"), "--prompt",
                 "a yellow square", "--steps", "4", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "result.png"))
    assert got.shape == (100, 100, 3)
    keep = np.asarray(mask) == 0
    assert (got[keep] == source[keep]).all()
    assert json.loads((tmp_path / "out" / "metrics.json").read_text())["result_size"] == [100, 100]


def test_edit_result_has_the_input_size(tmp_path):
    source = _picture(tmp_path / "in.png", 90)
    assert main(["edit", "--image", str(tmp_path / "in.png"), "--prompt", "a blue circle on a white background",
                 "--steps", "4", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "result.png"))
    assert got.shape == (90, 90, 3)
    assert (got == source).all(-1).mean() > 0.05  # what the edit left alone is the input's own pixels


def test_a_tracer_run_reports_what_it_ran(tmp_path):
    """vectorize --method trace runs vtracer once: one step, no model (it used to report 200 steps of the embedded
    prior)."""
    _picture(tmp_path / "in.png", 48)
    assert main(["vectorize", "--image", str(tmp_path / "in.png"), "--method", "trace", "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["steps"] == 1 and metrics["steps_run"] == 1 and metrics["model"] is None


def test_inpaint_works_on_a_window_centred_on_the_masks():
    """The window is the masks' box grown by context times its side, centred on them even past the image's edge
    (edge pixels repeated there), and None where it would hold the whole image."""
    from dreamsampler3d.tasks.full_size import crop_window, mask_window

    union = np.zeros((100, 100), np.float32)
    union[70:90, 80:96] = 1  # a 20 x 16 box near the bottom-right corner
    box = mask_window(union, (64, 64), 1.0)
    assert box == (68, 60, 108, 100)  # 40 x 40, centred on the box's centre (88, 80), 8 px past the right edge
    image = np.arange(100 * 100 * 3, dtype=np.int64).reshape(100, 100, 3)
    window = crop_window(image, box)
    assert window.shape == (40, 40, 3)
    assert (window[:, :32] == image[60:100, 68:100]).all()  # inside the image: its pixels
    assert (window[20, 35] == image[80, 99]).all()  # past the edge: the edge pixel repeated
    assert mask_window(union, (64, 64), 5.0) is None  # 120 px would exceed the image: the whole image
    assert mask_window(union, (32, 64), 1.0) == (48, 60, 128, 100)  # the working size's aspect: 80 x 40


def test_paste_back_from_a_window_past_the_edge_keeps_every_other_pixel():
    full = Image.fromarray(np.full((50, 50, 3), 90, np.uint8))
    region = torch.zeros(1, 1, 50, 50)
    region[..., 40:48, 42:50] = 1
    box = (30, 28, 62, 60)  # 32 x 32, reaching 12 px past the right and 10 px past the bottom edge
    result = torch.ones(1, 3, 16, 16)  # the window's result: white
    out = ((paste_back(full, result, region, box)[0].permute(1, 2, 0) + 1) * 127.5).round().numpy()
    assert out.shape == (50, 50, 3)
    assert (out[region[0, 0].numpy() == 0] == 90).all()
    assert out[42:46, 44:48].min() > 240


def test_the_inpaint_help_example_paints_a_yellow_square_in_the_box(tmp_path):
    """--help's own example on the embedded prior: most of the box becomes yellow (it stayed near-white while the
    whole image was the canvas: the prior drew its square in the middle, under the red circle)."""
    import colorsys

    assert main(["samples", str(tmp_path / "s")]) == 0
    assert main(["inpaint", "--image", str(tmp_path / "s" / "red-circle.png"), "--mask",
                 str(tmp_path / "s" / "box-mask.png"), "--prompt", "a yellow square", "--out", str(tmp_path / "out"),
                 "--no-progress"]) == 0
    got = np.asarray(Image.open(tmp_path / "out" / "result.png").convert("RGB"), dtype=np.float64) / 255
    box = np.asarray(Image.open(tmp_path / "s" / "box-mask.png").convert("L")) > 127
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in got[box]])
    # yellow to amber (the square's edge by the red circle is orange): 0.69, 0.81, 0.68 for seeds 0-2
    yellow = (hsv[:, 1] > 0.3) & (hsv[:, 2] > 0.25) & (hsv[:, 0] * 360 >= 30) & (hsv[:, 0] * 360 <= 70)
    assert yellow.mean() >= 0.5, yellow.mean()


def test_the_edit_help_example_turns_the_red_circle_into_a_blue_disc(tmp_path):
    """--help's own example on the embedded prior: the circle becomes blue and stays a filled disc of its size (at
    the old guidance 0.2 it came back green)."""
    import colorsys

    assert main(["samples", str(tmp_path / "s")]) == 0
    assert main(["edit", "--image", str(tmp_path / "s" / "red-circle.png"), "--prompt",
                 "a blue circle on a white background", "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    given = np.asarray(Image.open(tmp_path / "s" / "red-circle.png").convert("RGB"))
    got = np.asarray(Image.open(tmp_path / "out" / "result.png").convert("RGB"))
    disc, ink = given.min(-1) < 200, got.min(-1) < 200  # [H, W] not near white
    assert (disc & ink).sum() / (disc | ink).sum() >= 0.8  # the same disc, not a ring: 0.91
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in got[disc] / 255])
    blue = (hsv[:, 1] > 0.3) & (hsv[:, 0] * 360 >= 190) & (hsv[:, 0] * 360 <= 260)
    assert blue.mean() >= 0.8, blue.mean()
