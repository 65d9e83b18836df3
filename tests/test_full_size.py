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
