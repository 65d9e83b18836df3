"""Bad input: one clear line on stderr, a non-zero exit, and no result files."""

from __future__ import annotations

import subprocess
from pathlib import Path
import sys

import pytest

from dreamsampler3d.cli.main import main

from helpers import box_mask, gradient_mask, icon


def _fails(argv, out, capsys, expect: str) -> str:
    code = main([*argv, "--out", str(out), "--no-progress", "--steps", "3"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dreamsampler3d: error:")
    assert expect in lines[0], lines[0]
    for name in ("result.png", "metrics.json", "config.yaml"):
        assert not (out / name).exists()
    return lines[0]


def test_missing_model_folder(tmp_path, capsys):
    _fails(["generate", "--model", str(tmp_path / "nope"), "--prompt", "x"], tmp_path / "o", capsys, "no such folder")


def test_non_diffusers_folder(tmp_path, capsys):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "weights.bin").write_bytes(b"\0" * 10)
    _fails(["generate", "--model", str(tmp_path / "junk"), "--prompt", "x"], tmp_path / "o", capsys, "model_index.json")


def test_hub_id_while_offline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _fails(["generate", "--model", "nobody-here/no-such-model", "--prompt", "x"], tmp_path / "o", capsys, "offline")


def test_unreadable_image(tiny_folders, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("this is not a png")
    _fails(["edit", "--model", tiny_folders["sd1"], "--image", str(bad), "--prompt", "x"], tmp_path / "o", capsys,
           "not a readable image")


def test_mask_of_wrong_size(tiny_folders, tmp_path, capsys):
    image, mask = icon(tmp_path / "in.png", 32), box_mask(tmp_path / "m.png", 48, (0, 0, 10, 10))
    _fails(["inpaint", "--model", tiny_folders["sd1"], "--image", str(image), "--mask", str(mask), "--prompt", "x"],
           tmp_path / "o", capsys, "differs from the image")


def test_mask_not_binary(tiny_folders, tmp_path, capsys):
    image, mask = icon(tmp_path / "in.png", 32), gradient_mask(tmp_path / "m.png", 32)
    _fails(["inpaint", "--model", tiny_folders["sd1"], "--image", str(image), "--mask", str(mask), "--prompt", "x"],
           tmp_path / "o", capsys, "not binary-like")


def test_unknown_config_key(tiny_folders, tmp_path, capsys):
    line = _fails(["generate", "--model", tiny_folders["sd1"], "--prompt", "x", "sampler.guidanse=3"], tmp_path / "o",
                  capsys, "guidanse")
    assert "config" in line


@pytest.mark.parametrize("argv,key", [
    (["--steps", "-3"], "run.steps"),
    (["sampler.guidance=nan"], "guidance"),
    (["sampler.guidance=abc"], "guidance"),
    (["sampler.eta=2"], "eta"),
])
def test_invalid_values(tiny_folders, tmp_path, capsys, argv, key):
    code = main(["generate", "--model", tiny_folders["sd1"], "--prompt", "x", *argv, "--out", str(tmp_path / "o"),
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and key in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("task", ["edit-svg", "text-to-svg"])
def test_svg_task_option_out_of_range_is_refused_before_anything_is_written(tiny_folders, tmp_path, capsys, task):
    """inner_steps=0 used to pass validation, write config.yaml, then crash with a traceback."""
    (tmp_path / "in.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
                                     '<path d="M1 1H7V7Z" fill="red"/></svg>')
    source = ["--svg", str(tmp_path / "in.svg")] if task == "edit-svg" else []
    _fails([task, "--model", tiny_folders["sd1"], "--prompt", "x", *source, "inner_steps=0"], tmp_path / "o", capsys,
           "inner_steps must be >= 1")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("task,argv,message", [
    ("text-to-svg", ["sampler.omega_schedule=bogus"], "sampler.omega_schedule must be one of"),
    ("text-to-svg", ["sampler.eta=2"], "sampler.eta must lie in [0, 1], got 2.0"),
    ("text-to-svg", ["sampler.renoise=bogus"], "sampler.renoise must be unconditional or guided"),
    ("text-to-svg", ["svg.min_opacity=3"], "svg.min_opacity must lie in [0, 1]"),
    ("text-to-3d", ["sampler.eta_schedule=bogus"], "sampler.eta_schedule must be one of constant, alpha"),
    ("restore", ["--degradation", "sr4", "sampler.dreamsampler_until=2"], "sampler.dreamsampler_until must lie in"),
])
def test_component_values_are_refused_before_anything_is_written(tmp_path, capsys, task, argv, message):
    """Every component config (sampler, svg, inverse sampler) checks its own values, whatever task holds it: these
    used to pass validation, write config.yaml and end in a traceback."""
    image = ["--image", str(icon(tmp_path / "in.png"))] if task == "restore" else ["--prompt", "a red star"]
    _fails([task, *image, *argv], tmp_path / "o", capsys, message)
    assert not (tmp_path / "o").exists()


def test_missing_config_file_and_bad_override(tmp_path, capsys):
    _fails(["generate", "--prompt", "x", "--config", str(tmp_path / "none.yaml")], tmp_path / "o", capsys, "no such file")
    _fails(["generate", "--prompt", "x", "justaword"], tmp_path / "o", capsys, "key=value")


def test_console_script_exit_status(tmp_path):
    """The installed entry point itself (the `dreamsampler3d` script pip wrote, not `python -m`) exits non-zero
    with the one-line message. (.ci/run also runs the README's main job through a wheel's script.)"""
    import shutil

    script = shutil.which("dreamsampler3d", path=str(Path(sys.executable).parent)) or shutil.which("dreamsampler3d")
    assert script is not None, "the dreamsampler3d console script is not installed"
    proc = subprocess.run([script, "generate", "--model", str(tmp_path / "x"), "--prompt", "a", "--no-progress"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("dreamsampler3d: error:") and len(proc.stderr.strip().splitlines()) == 1
