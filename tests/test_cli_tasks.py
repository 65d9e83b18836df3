"""Every image task runs end to end from the CLI, for SD1-, SD2 (v-prediction)- and SDXL-shaped models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from dreamsampler3d.cli.main import main

from helpers import box_mask, icon


def _run(argv, out):
    code = main([*argv, "--out", str(out), "--no-progress", "--steps", "8"])
    assert code == 0
    for name in ("result.png", "config.yaml", "metrics.json"):
        assert (out / name).is_file(), name
    return json.loads((out / "metrics.json").read_text()), np.asarray(Image.open(out / "result.png"))


@pytest.mark.parametrize("family", ["sd1", "sd2v", "sdxl"])
def test_all_tasks_from_cli(tiny_folders, tmp_path, family):
    model = tiny_folders[family]
    image = icon(tmp_path / "in.png")
    mask = box_mask(tmp_path / "m.png", 32, (0, 0, 15, 31))
    mask2 = box_mask(tmp_path / "m2.png", 32, (16, 20, 31, 31))
    small = tmp_path / "small.png"
    Image.open(image).resize((8, 8)).save(small)

    _, result = _run(["generate", "--model", model, "--prompt", "a red star"], tmp_path / "gen")
    assert result.shape == (32, 32, 3) and result.std() > 0

    _, result = _run(["edit", "--model", model, "--image", str(image), "--prompt", "a blue circle", "route=latent"],
                     tmp_path / "edit")
    assert result.shape == (32, 32, 3)
    if family == "sd1":  # the flat icon through its SVG (the default route for flat colour art)
        metrics, result = _run(["edit", "--model", model, "--image", str(image), "--prompt", "a blue circle"],
                               tmp_path / "edit-svg-route")
        assert result.shape == (32, 32, 3) and metrics["svg"] == "result.svg"

    metrics, result = _run(["inpaint", "--model", model, "--image", str(image), "--mask", str(mask), "--mask",
                            str(mask2), "--prompt", "a star", "--prompt", "a square"], tmp_path / "inpaint")
    print(f"{family} inpaint: observed PSNR {metrics['psnr_observed_db']:.1f} dB "
          f"(decoded before the final projection: {metrics['psnr_observed_decoded_db']:.1f} dB)")
    assert metrics["psnr_observed_db"] >= 30.0
    # the filled region really changed: the task did not just copy its input
    original = np.asarray(Image.open(image))
    assert np.abs(result[:, :16].astype(int) - original[:, :16]).mean() > 5

    metrics, result = _run(["restore", "--model", model, "--image", str(small), "--degradation", "sr4"], tmp_path / "sr4")
    assert result.shape == (32, 32, 3)
    # random weights explain nothing; before the final projection the number says so (it used to be 100, measured
    # after the projection that forces agreement)
    assert 0 < metrics["measurement_psnr_db"] < 60 and "measurement_psnr_decoded_db" not in metrics

    for degradation in ("sr8", "blur"):
        src = small if degradation == "sr8" else image
        if degradation == "sr8":
            Image.open(image).resize((4, 4)).save(tmp_path / "tiny.png")
            src = tmp_path / "tiny.png"
        _run(["restore", "--model", model, "--image", str(src), "--degradation", degradation], tmp_path / degradation)
    _run(["restore", "--model", model, "--image", str(image), "--degradation", "inpaint", "--mask", str(mask),
          "--prompt", "a red circle"], tmp_path / "rinpaint")


def test_edit_baselines_run(tiny_folders, tmp_path):
    image = icon(tmp_path / "in.png")
    for method in ("dds", "pds", "sds"):
        metrics, result = _run(["edit", "--model", tiny_folders["sd1"], "--image", str(image), "--prompt",
                                "a blue circle", "--method", method], tmp_path / method)
        assert result.shape == (32, 32, 3)


def test_same_seed_same_bytes(tiny_folders, tmp_path):
    argv = ["generate", "--model", tiny_folders["sd1"], "--prompt", "a red star", "sampler.eta=0.5"]
    _run([*argv, "--seed", "3"], tmp_path / "a")
    _run([*argv, "--seed", "3"], tmp_path / "b")
    _run([*argv, "--seed", "4"], tmp_path / "c")
    a, b, c = ((tmp_path / x / "result.png").read_bytes() for x in "abc")
    assert a == b
    assert a != c


@pytest.mark.parametrize("family,method", [("sd1", "dreamsampler"), ("sdxl", "sds")])
def test_text_to_3d_from_cli(tiny_folders, tmp_path, family, method):
    import trimesh

    out = tmp_path / "t3d"
    code = main(["text-to-3d", "--model", tiny_folders[family], "--prompt", "a red circle", "--method", method,
                 "--steps", "3", "--out", str(out), "--no-progress", "mesh_formats=[glb,ply]", "mesh_resolution=48",
                 "orbit_frames=6"])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / metrics["video"]).is_file()
    mesh = trimesh.load(out / "mesh.glb", force="mesh")
    assert len(mesh.vertices) == metrics["mesh_vertices"] > 0
    assert np.asarray(Image.open(out / "result.png")).shape == (32, 128, 3)


@pytest.mark.slow
def test_inverse_problems_explain_the_measurement_before_the_projection(tmp_path):
    """On the embedded prior, the decoded trajectory itself (before the final pixel-space projection, which would
    make any result match) keeps the observed pixels and explains the low-resolution input."""
    from dreamsampler3d.data.icons import make_scene, render_scene

    clean = render_scene(make_scene([("blue", "star", None)], "white"))
    Image.fromarray(clean).save(tmp_path / "in.png")
    Image.fromarray(clean).resize((16, 16), Image.BOX).save(tmp_path / "small.png")
    mask = box_mask(tmp_path / "m.png", 64, (0, 0, 20, 63))
    metrics, _ = _run(["inpaint", "--image", str(tmp_path / "in.png"), "--mask", str(mask), "--prompt",
                       "a blue star on a white background"], tmp_path / "inpaint")
    print(metrics["psnr_observed_decoded_db"])
    # 18.1-18.4 dB over seeds at these 8 steps with guidance 2 (23.5 with guidance 1; 32.5 at the default 50 steps);
    # 7.2 without data consistency (sampler.cg_iters=0)
    assert metrics["psnr_observed_decoded_db"] >= 15.0, metrics
    metrics, _ = _run(["restore", "--image", str(tmp_path / "small.png"), "--degradation", "sr4"],
                      tmp_path / "sr4")
    print(metrics["measurement_psnr_db"])
    assert metrics["measurement_psnr_db"] >= 30.0, metrics


def test_a_task_built_twice_with_one_seed_starts_from_the_same_parameters(sd1_prior):
    """A NeRF's initial planes and MLP come from the global generators: build_task seeds them from run.seed, so
    a benchmark or library caller that builds text-to-3d gets the CLI's reproducibility (two benchmark processes
    gave different NeRFs for the same prompt and seed)."""
    from dreamsampler3d.config import build_config
    from dreamsampler3d.tasks.prepare import build_task

    cfg = build_config("text-to-3d", None, [], {"prompt": "a red cube", "run": {"seed": 3, "progress": False}})
    first = [p.detach().clone() for p in build_task("text-to-3d", cfg, sd1_prior)[0].parameters()]
    torch.randn(1000)  # whatever a caller drew in between
    second = [p.detach() for p in build_task("text-to-3d", cfg, sd1_prior)[0].parameters()]
    assert first and all(torch.equal(a, b) for a, b in zip(first, second))
