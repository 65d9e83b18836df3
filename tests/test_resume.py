"""Kill a run half-way (SIGKILL, a real process), resume it, and get the bytes of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import box_mask, icon

KILLER = Path(__file__).parent / "killed_after_checkpoint.py"


def _argv(args: list[str], out: Path) -> list[str]:
    return [*args, "--out", str(out), "--no-progress"]


def _cmd(args: list[str], out: Path) -> list[str]:
    return [sys.executable, "-m", "dreamsampler3d.cli.main", *_argv(args, out)]


def _env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    return env


def _kill_half_way(args: list[str], out: Path, steps: int) -> None:
    """Run the CLI until the checkpoint of step steps / 2 is written, where it SIGKILLs itself."""
    proc = subprocess.run([sys.executable, str(KILLER), str(steps // 2), *_argv(args, out)], env=_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed: {proc.stderr.decode()[-500:]}"
    assert not (out / "result.png").exists()


def _run_killed_and_resumed(args: list[str], tmp_path: Path, steps: int) -> tuple[Path, Path]:
    """An uninterrupted run and a run killed half-way then resumed; checks that the second one did resume
    (started at a late step, ran only the rest). Returns their output folders."""

    full = tmp_path / "full"
    subprocess.run(_cmd(args, full), env=_env(), check=True, stdout=subprocess.DEVNULL)
    killed = tmp_path / "killed"
    _kill_half_way(args, killed, steps)
    ckpt = killed / "checkpoints" / "last.ckpt"
    import torch

    done = int(torch.load(ckpt, map_location="cpu", weights_only=True)["sampler_state"]["done"])
    resumed = subprocess.run(_cmd([*args, "--resume", str(ckpt)], killed), env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-1000:]
    metrics = json.loads((killed / "metrics.json").read_text())  # a resume, not a rerun from step 0
    assert metrics["resumed_at_step"] == done == steps // 2 and metrics["steps_run"] == steps - done
    assert _lasting(metrics) == _lasting(json.loads((full / "metrics.json").read_text()))
    return full, killed


def _lasting(metrics: dict) -> dict:
    """metrics.json without what belongs to one process: timings, where and when it resumed."""
    return {k: v for k, v in metrics.items()
            if k not in ("seconds", "seconds_per_step", "resumed_from", "resumed_at_step", "steps_run")}


@pytest.mark.slow
@pytest.mark.parametrize("task", ["generate", "inpaint", "text-to-3d", "edit", "restore", "restore-svg", "vectorize"])
def test_kill_and_resume_gives_identical_bytes(tiny_folders, tmp_path, task):
    steps = 120
    image, mask = icon(tmp_path / "in.png"), box_mask(tmp_path / "m.png", 32, (0, 0, 15, 31))
    if task == "generate":  # stochastic renoising: the RNG state must survive the kill too
        args = ["generate", "--prompt", "a red star", "sampler.eta=0.7"]
    elif task == "inpaint":  # DPS gradients, CG, eta_t = alpha_t noise
        args = ["inpaint", "--image", str(image), "--mask", str(mask), "--prompt", "a star"]
    elif task == "edit":  # the inverted trajectory (a flat icon would go through its SVG: edit-svg's resume below)
        args = ["edit", "--image", str(image), "--prompt", "a blue circle", "route=latent"]
    elif task == "restore":  # CG data consistency on a low-resolution input
        args = ["restore", "--image", str(image), "--degradation", "blur"]
    elif task in ("restore-svg", "vectorize"):  # the SVG generator, its Adam state and the exported file
        steps = 16
        args = [task, "--image", str(image), "run.checkpoint_every=1", "output_size=32"]
        args += ["--degradation", "blur", "inner_steps=2"] if task == "restore-svg" else []
    else:  # NeRF weights, Adam state, random cameras and shading
        steps = 16
        args = ["text-to-3d", "--prompt", "a red circle", "inner_steps=2", "render_size=16", "mesh_formats=[ply]",
                "mesh_resolution=32", "orbit_frames=4", "run.checkpoint_every=1"]
    args += [] if task == "vectorize" else ["--model", tiny_folders["sd1"]]  # vectorize uses no prior
    args += ["--steps", str(steps), "--seed", "7", "run.snapshot_every=0"]
    full, killed = _run_killed_and_resumed(args, tmp_path, steps)
    assert (killed / "result.png").read_bytes() == (full / "result.png").read_bytes()
    if task in ("restore-svg", "vectorize"):
        assert (killed / "result.svg").read_bytes() == (full / "result.svg").read_bytes()
    if task == "text-to-3d":
        import imageio.v2 as imageio

        assert (killed / "mesh.ply").read_bytes() == (full / "mesh.ply").read_bytes()
        video = json.loads((full / "metrics.json").read_text())["video"]
        assert len(imageio.mimread(killed / video)) == len(imageio.mimread(full / video)) == 4


@pytest.mark.slow
@pytest.mark.parametrize("task", ["text-to-svg", "edit-svg"])
def test_kill_and_resume_svg_tasks(tiny_folders, tmp_path, task):
    """Killed after the generator was built mid-run (the prior start / the edit's rebuild), resumed: the
    checkpoint must rebuild it, its optimiser, counters and video frames. Same result.svg, result.png, number of
    video frames; the resumed process ran fewer steps than the whole run."""
    import imageio.v2 as imageio

    from dreamsampler3d.data.icons import make_scene

    steps = 16
    if task == "text-to-svg":
        args = ["text-to-svg", "--prompt", "a red star", "init_at=0.25", "svg.num_paths=4", "svg.prune_every=3",
                "svg.min_area=0.1"]  # prunes re-create shapes after the kill too
    else:
        (tmp_path / "in.svg").write_text(make_scene([("red", "star", "top left"), ("blue", "circle", None)]).svg())
        args = ["edit-svg", "--svg", str(tmp_path / "in.svg"), "--prompt", "a green star", "init_at=0.25"]
    args += ["--model", tiny_folders["sd1"], "--steps", str(steps), "--seed", "3", "run.snapshot_every=0",
             "run.checkpoint_every=1", "inner_steps=2", "output_size=64", "video_every=1"]
    full, killed = _run_killed_and_resumed(args, tmp_path, steps)
    for name in ("result.svg", "result.png"):
        assert (killed / name).read_bytes() == (full / name).read_bytes(), name
    frames = [imageio.mimread(d / "optimisation.mp4") for d in (full, killed)]
    assert len(frames[0]) == len(frames[1]) > 1
    for k, (a, b) in enumerate(zip(*frames)):  # the generator as it moved, re-created shapes included
        assert np.array_equal(a, b), f"video frame {k} differs"


def test_resume_rejects_a_checkpoint_of_another_run(tiny_folders, tmp_path, capsys):
    from dreamsampler3d.cli.main import main

    base = ["generate", "--model", tiny_folders["sd1"], "--prompt", "a red star", "--steps", "4", "--no-progress",
            "run.checkpoint_every=1"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    capsys.readouterr()
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    assert main([*base, "--seed", "9", "--out", str(tmp_path / "b"), "--resume", str(ckpt)]) == 2
    assert "different configuration" in capsys.readouterr().err


class _Payload:
    """Unpickling this runs code: it touches a file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_crafted_checkpoint_runs_no_code(tiny_folders, tmp_path, capsys, recwarn):
    """--resume with a pickle whose loading would execute code: refused with one line, the code never runs,
    nothing is written."""
    import pickle

    from dreamsampler3d.cli.main import main

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.ckpt"
    with open(evil, "wb") as f:
        pickle.dump({"run_fingerprint": _Payload(marker), "epoch": 1}, f)
    with open(tmp_path / "check.pkl", "wb") as f:  # the payload works when unpickled carelessly
        pickle.dump(_Payload(tmp_path / "works"), f)
    pickle.load(open(tmp_path / "check.pkl", "rb"))
    assert (tmp_path / "works").exists()
    code = main(["generate", "--model", tiny_folders["sd1"], "--prompt", "x", "--steps", "2",
                 "--out", str(tmp_path / "o"), "--resume", str(evil), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "checkpoint" in err, err
    assert not [str(w.message) for w in recwarn if "pickle" in str(w.message)]  # would print before our line
    assert not marker.exists() and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ctrl_c_is_one_line_exit_130_and_the_run_resumes(tiny_folders, tmp_path):
    """Lightning answers Ctrl-C with its own message and exit(1); the CLI says 'interrupted', exits 130, and the
    last checkpoint resumes the run."""
    out = tmp_path / "run"
    args = ["generate", "--prompt", "a red star", "--model", tiny_folders["sd1"], "--steps", "200", "--seed", "1",
            "run.snapshot_every=0", "run.checkpoint_every=1"]
    # a shell's background job inherits SIGINT ignored (and Python keeps it so): give the run the default
    proc = subprocess.Popen(_cmd(args, out), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (out / "checkpoints" / "last.ckpt").is_file():
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err[-800:]
    assert err.strip().splitlines()[-1] == "dreamsampler3d: interrupted", err[-800:]
    assert not (out / "result.png").exists()
    resumed = subprocess.run(_cmd([*args, "--resume", str(out / "checkpoints" / "last.ckpt")], out), env=_env(),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-800:]
    assert json.loads((out / "metrics.json").read_text())["resumed_at_step"] > 0


def test_two_stage_baselines_refuse_resume_in_one_line(tmp_path, capsys):
    from dreamsampler3d.cli.main import main

    (tmp_path / "in.png").write_bytes(b"")
    (tmp_path / "x.ckpt").write_bytes(b"")
    code = main(["restore-svg", "--image", str(tmp_path / "in.png"), "--method", "two-stage", "--resume",
                 str(tmp_path / "x.ckpt"), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "two stages" in err, err
