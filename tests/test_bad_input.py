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
    ("restore", ["--degradation", "sr8", "samples=0"], "samples must be >= 1, got 0"),
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


# ------------------------------------------------------------------------------------------------------------------
# Issue 23: an upper bound on every work setting, checked before anything is read, loaded or written.
def _int_settings(cfg, prefix: str = ""):
    """Every integer setting of a config (dotted), nested components included; optional ones (height) too."""
    from dataclasses import fields, is_dataclass

    for f in fields(cfg):
        value, key = getattr(cfg, f.name), prefix + f.name
        if is_dataclass(value):
            yield from _int_settings(value, key + ".")
        elif (isinstance(value, int) and not isinstance(value, bool)) or "Optional[int]" in str(f.type):
            yield key


def _inputs(spec) -> list[str]:
    """Overrides giving a task every input it requires (none is read while the config is checked)."""
    out = []
    for kind in spec.inputs:
        out += {"prompt": ["prompt=x"], "prompts": ["prompts=[x]"], "image": ["image=in.png"], "masks": ["masks=[m.png]"],
                "svg": ["svg_file=in.svg"], "degradation": ["degradation=sr4"]}.get(kind, [])
    return out


def test_every_integer_setting_has_an_upper_bound():
    """Each integer setting of each task set to 10^12 is a one-line error naming it, from the config alone (no input
    read, no model loaded): output_size=30000 was a traceback after 3.9 GB, svg.num_paths=2000 400+ s of clean-up,
    mesh_resolution=1000 a 4 GB grid."""
    from dreamsampler3d.config import build_config
    from dreamsampler3d.errors import UserError
    from dreamsampler3d.tasks.registry import specs

    checked = 0
    for spec in specs():
        for key in _int_settings(spec.config()):
            with pytest.raises(UserError) as err:
                build_config(spec.name, None, [*_inputs(spec), f"{key}={10**12}"])
            message = str(err.value)
            assert key in message and "\n" not in message, (spec.name, key, message)
            checked += 1
    assert checked > 100


def test_every_advertised_bound_is_accepted():
    """What `--help` lists as the most a setting may ask for passes the checks (--size 16384 was advertised by
    render-svg and refused)."""
    from dreamsampler3d.config import bounds, build_config, default_config
    from dreamsampler3d.tasks.registry import specs

    for spec in specs():
        for key, most in bounds(default_config(spec.name)).items():
            if key in ("prompts", "masks", "mesh_formats"):  # lengths: the values must also match each other
                continue
            extra = {"svg.samples": ["svg.render_scale=1"], "svg.render_scale": ["svg.samples=1"],
                     "views_per_step": ["views=64"]}.get(key, [])
            build_config(spec.name, None, [*_inputs(spec), *extra, f"{key}={most}"])


@pytest.mark.parametrize("task, argv, words", [
    ("vectorize", ["output_size=30000"], ["output_size", "at most 8,192", "30,000"]),
    ("vectorize", ["output_size=100000"], ["output_size", "at most"]),
    ("text-to-svg", ["svg.num_paths=2000", "svg.init=blobs"], ["svg.num_paths", "at most 256"]),
    ("text-to-3d", ["mesh_resolution=100000"], ["mesh_resolution", "at most"]),
    ("restore-svg", ["height=2048", "svg.render_scale=8"], ["svg.render_scale x svg.samples", "8,192"]),
    ("generate", ["--steps", "1001"], ["run.steps", "at most 1,000", "training timesteps"]),
])
def test_work_settings_over_their_bound_stop_the_command_line_at_once(tmp_path, capsys, task, argv, words):
    image = ["--image", str(icon(tmp_path / "in.png"))] if task in ("vectorize", "restore-svg") else ["--prompt", "x"]
    code = main([task, *image, *argv, "--out", str(tmp_path / "o"), "--no-progress"])
    line = capsys.readouterr().err.strip()
    assert code == 2 and len(line.splitlines()) == 1 and line.startswith("dreamsampler3d: error: config:"), line
    for w in words:
        assert w in line, (w, line)
    assert not (tmp_path / "o").exists()


def test_a_thousand_steps_are_accepted_by_every_model(sd1_prior):
    """--steps 1000 passed the checks and then raised IndexError: diffusers' 'leading' grid with steps_offset 1 (SD
    1.x, the tiny pipelines, the embedded prior) asks for t = 1000 of 0..999. The grid now ends at t = 999."""
    import json

    from dreamsampler3d.config import BOUNDS
    from dreamsampler3d.priors.embedded import resolve_model
    from dreamsampler3d.priors.schedules import ddim_schedule

    most = BOUNDS["run.steps"]
    embedded = json.loads((Path(resolve_model("embedded")) / "scheduler" / "scheduler_config.json").read_text())
    for schedule in (sd1_prior.schedule(most), ddim_schedule(embedded, most), ddim_schedule(embedded, 999)):
        ts = schedule.timesteps
        assert int(ts.max()) <= 999 and int(ts.min()) >= 0 and len(set(ts.tolist())) == len(ts)
        assert bool((ts[1:] < ts[:-1]).all()) and len(schedule.alphas) == len(ts)
    assert len(sd1_prior.schedule(most).timesteps) == most
    # below the old failure the grid is diffusers' own, untouched
    from diffusers import DDIMScheduler

    sched = DDIMScheduler.from_config(embedded)
    sched.set_timesteps(999)
    assert ddim_schedule(embedded, 999).timesteps.tolist() == sched.timesteps.tolist()


@pytest.mark.parametrize("argv, key", [
    (["--prompt", "a \udcff star"], "prompt"),  # what Python makes of the byte 0xff in argv
    (["--prompt", "x", "prompt=caf\udce9"], "prompt"),
    (["--prompt", "x", "sampler.guidance=3", "prior.negative_prompt=\udcc3"], "prior.negative_prompt"),
])
def test_text_that_is_not_utf8_is_one_line(tiny_folders, tmp_path, capsys, argv, key):
    """A prompt holding a byte that is not UTF-8 was a UnicodeEncodeError traceback when config.yaml was written."""
    line = _fails(["generate", "--model", tiny_folders["sd1"], *argv], tmp_path / "o", capsys, "not UTF-8 text")
    assert f"config: {key} " in line and "byte 0x" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_an_out_folder_that_cannot_be_made_is_one_line(tiny_folders, tmp_path, capsys):
    """--out /proc/x: os.access lets root write anywhere, /proc takes no folder (a FileNotFoundError traceback)."""
    _fails(["generate", "--model", tiny_folders["sd1"], "--prompt", "x"], Path("/proc/x"), capsys, "cannot be created")
    assert not Path("/proc/x").exists()


def test_task_yaml_repeats_its_dataclass_defaults_exactly():
    """One source of truth for every option's default: the task's dataclass. configs/<task>.yaml may repeat an
    option (it reads as the task's recipe) but never say something else; only run.* (steps, out, snapshot_every),
    which the shared RunConfig cannot set per task, is the YAML's own. (svg.lr_points was 1.0 in the dataclass and
    0.03 in text-to-svg.yaml, svg.fit_tolerance 0.35 and 0.6, svg.segments 4 and 8 in vectorize.yaml.)"""
    from dataclasses import asdict

    import yaml

    from dreamsampler3d.config import default_config
    from dreamsampler3d.tasks.registry import specs

    def flat(d, prefix=""):
        for k, v in d.items():
            yield from flat(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]

    for spec in specs():
        own = dict(flat(asdict(spec.config())))
        path = spec.defaults_file()
        repeated = dict(flat(yaml.safe_load(path.read_text()) or {})) if path else {}
        for key, value in repeated.items():
            if not key.startswith("run."):
                assert key in own and own[key] == value, (spec.name, key, own.get(key), value)
        merged = dict(flat(asdict(default_config(spec.name))))
        assert {k: v for k, v in merged.items() if not k.startswith("run.")} == \
               {k: v for k, v in own.items() if not k.startswith("run.")}, spec.name
