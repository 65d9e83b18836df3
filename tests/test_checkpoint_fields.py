"""--resume with a checkpoint whose fingerprint is right but whose fields are not what this run writes.

The fingerprint is a hash anyone can recompute, so these checkpoints are made by editing a real one of the same run
(the fingerprint kept): each must be refused in one line naming the field, before anything is written or allocated
from it. Also: a kill between a checkpoint and its snapshot, and a killed --overwrite run (tasks/runner.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from test_resume import KILLER, _argv, _cmd, _env

STEPS = 4


def _base(model: str) -> list[str]:
    return ["generate", "--model", model, "--prompt", "a red star", "--steps", str(STEPS), "--no-progress",
            "run.checkpoint_every=1", "run.snapshot_every=0"]


@pytest.fixture(scope="module")
def real_checkpoint(tiny_folders, tmp_path_factory) -> Path:
    """A checkpoint the run itself wrote (after step STEPS - 1)."""
    from dreamsampler3d.cli.main import main

    out = tmp_path_factory.mktemp("ckpt") / "run"
    assert main([*_base(tiny_folders["sd1"]), "--out", str(out)]) == 0
    return out / "checkpoints" / "last.ckpt"


def _load(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def _latent_key(ckpt: dict) -> str:
    return next(k for k, v in ckpt["sampler_state"].items() if v.dim() == 4)


def _huge_latent(c: dict) -> None:  # 1x4x4000x4000 stored as one element (a 9 KB file); expanded: 256 MB
    key = _latent_key(c)
    c["sampler_state"][key] = torch.zeros(1, 1, 1, 1).expand(1, 4, 4000, 4000)


def _small_latent(c: dict) -> None:  # an 8x8 latent gave a 16 px image
    key = _latent_key(c)
    c["sampler_state"][key] = c["sampler_state"][key][..., :8, :8].clone()


def _nan_latent(c: dict) -> None:  # NaN gave a black result
    key = _latent_key(c)
    c["sampler_state"][key] = c["sampler_state"][key].clone().fill_(float("nan"))


def _negative_done(c: dict) -> None:  # done=-5 was recorded as the resume step
    c["sampler_state"]["done"] = torch.tensor(-5)


def _float_done(c: dict) -> None:
    c["sampler_state"]["done"] = torch.tensor(2.0)


def _no_rng(c: dict) -> None:
    del c["sampler_rng"]


def _bad_rng(c: dict) -> None:  # the wrong length: torch's set_state traceback
    c["sampler_rng"] = torch.zeros(10, dtype=torch.uint8)


def _wrong_type_loops(c: dict) -> None:
    c["loops"] = "x"


def _extra_state(c: dict) -> None:
    c["sampler_state"]["extra"] = torch.zeros(3)


def _wrong_dtype_parameter(c: dict) -> None:
    if not c["state_dict"]:
        c["state_dict"]["bogus"] = torch.zeros(2)
        return
    key = next(iter(c["state_dict"]))
    c["state_dict"][key] = c["state_dict"][key].double()


CRAFTED = {  # how the checkpoint is edited -> a word the one-line error must hold (the field)
    "huge latent": (_huge_latent, "shape"),
    "8x8 latent": (_small_latent, "shape"),
    "NaN latent": (_nan_latent, "NaN"),
    "done=-5": (_negative_done, "sampler_state.done"),
    "float done": (_float_done, "sampler_state.done"),
    "no RNG state": (_no_rng, "sampler_rng"),
    "bad RNG state": (_bad_rng, "sampler_rng"),
    "loops a string": (_wrong_type_loops, "loops"),
    "an extra state field": (_extra_state, "sampler_state.extra"),
    "a parameter of another dtype": (_wrong_dtype_parameter, "state_dict"),
}


@pytest.mark.parametrize("case", list(CRAFTED))
def test_crafted_fields_are_refused_in_one_line_before_anything_is_written(tiny_folders, real_checkpoint, tmp_path,
                                                                          capsys, case):
    from dreamsampler3d.cli.main import main

    edit, word = CRAFTED[case]
    ckpt = _load(real_checkpoint)
    edit(ckpt)
    crafted = tmp_path / "crafted.ckpt"
    torch.save(ckpt, crafted)
    out = tmp_path / "resumed"
    code = main([*_base(tiny_folders["sd1"]), "--out", str(out), "--resume", str(crafted)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert word in err and str(crafted) in err, err
    assert not out.exists()


def test_the_unedited_checkpoint_resumes(tiny_folders, real_checkpoint, tmp_path, capsys):
    """The same path as the crafted ones, with nothing edited: the checks refuse only what is wrong."""
    from dreamsampler3d.cli.main import main

    copy = tmp_path / "same.ckpt"
    torch.save(_load(real_checkpoint), copy)
    out = tmp_path / "resumed"
    assert main([*_base(tiny_folders["sd1"]), "--out", str(out), "--resume", str(copy)]) == 0, capsys.readouterr().err
    assert json.loads((out / "metrics.json").read_text())["resumed_at_step"] == STEPS - 1


def test_a_huge_latent_allocates_nothing(tiny_folders, real_checkpoint, tmp_path):
    """The 9 KB file that expanded to gigabytes on load: refused with the process's peak memory near a normal run's
    (a separate process, so the peak is this run's)."""
    ckpt = _load(real_checkpoint)
    key = _latent_key(ckpt)
    ckpt["sampler_state"][key] = torch.zeros(1, 1, 1, 1).expand(1, 4, 16000, 16000)  # 4 GB once expanded
    crafted = tmp_path / "huge.ckpt"
    torch.save(ckpt, crafted)
    assert crafted.stat().st_size < 200_000
    code = ("import resource, sys; from dreamsampler3d.cli.main import main; c = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(c)")
    proc = subprocess.run([sys.executable, "-c", code, *_base(tiny_folders["sd1"]), "--out", str(tmp_path / "o"),
                           "--resume", str(crafted)], env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "shape" in proc.stderr, proc.stderr[-800:]
    peak_mb = int(proc.stdout.split()[-1]) / 1024  # ru_maxrss: KB on Linux
    assert peak_mb < 2000, f"{peak_mb:.0f} MB"


def test_a_kill_between_checkpoint_and_snapshot_loses_no_snapshot(tiny_folders, tmp_path):
    """Killed right after the checkpoint of step 2, then resumed: every snapshot of an uninterrupted run is there,
    with its bytes (the snapshot of a step is written before its checkpoint)."""
    args = ["generate", "--model", tiny_folders["sd1"], "--prompt", "a red star", "--steps", str(STEPS),
            "run.checkpoint_every=1", "run.snapshot_every=1"]
    full, killed = tmp_path / "full", tmp_path / "killed"
    subprocess.run(_cmd(args, full), env=_env(), check=True, stdout=subprocess.DEVNULL, timeout=600)
    proc = subprocess.run([sys.executable, str(KILLER), "2", *_argv(args, killed)], env=_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == -9, proc.stderr.decode()[-500:]
    resumed = subprocess.run(_cmd([*args, "--resume", str(killed / "checkpoints" / "last.ckpt")], killed),
                             env=_env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-800:]
    names = sorted(p.name for p in (full / "snapshots").iterdir())
    assert len(names) == STEPS
    assert sorted(p.name for p in (killed / "snapshots").iterdir()) == names
    for name in names:
        assert (killed / "snapshots" / name).read_bytes() == (full / "snapshots" / name).read_bytes(), name


def test_a_killed_overwrite_keeps_the_previous_result_and_resumes(tiny_folders, tmp_path):
    """--overwrite replaces the old files only once the new run is complete: killed half-way, --out still holds the
    previous run, whole; the note's checkpoint resumes the new run, which then replaces it."""
    out = tmp_path / "run"
    old = ["generate", "--model", tiny_folders["sd1"], "--prompt", "a red star", "--steps", str(STEPS),
           "run.checkpoint_every=1", "run.snapshot_every=0"]
    subprocess.run(_cmd(old, out), env=_env(), check=True, stdout=subprocess.DEVNULL, timeout=600)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    new = [*old[:-2], "--seed", "7", "run.checkpoint_every=1", "run.snapshot_every=0", "--overwrite"]
    proc = subprocess.run([sys.executable, str(KILLER), "2", *_argv(new, out)], env=_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == -9, proc.stderr.decode()[-500:]
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    ckpt = next(out.rglob("last.ckpt"))
    assert str(ckpt) in proc.stderr.decode(), proc.stderr.decode()[-800:]  # the note says where to resume from
    assert ckpt != out / "checkpoints" / "last.ckpt"  # not the previous run's checkpoint
    resumed = subprocess.run(_cmd([*new, "--resume", str(ckpt)], out), env=_env(), capture_output=True, text=True,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-800:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["resumed_at_step"] == 2
    assert (out / "result.png").read_bytes() != before["result.png"]
    assert "seed: 7" in (out / "config.yaml").read_text()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no staging or replaced files left


@pytest.mark.parametrize("key, value, word", [
    ("recolour_avg_sq", -1.0, "sampler_state.recolour_avg_sq"),  # Adam's sqrt of it: NaN fills
    ("recolour_fills", 3.0, "sampler_state.recolour_fills"),
    ("recolour_adam_steps", 2.5, "sampler_state.recolour_adam_steps"),
])
def test_edit_svgs_fills_only_state_is_checked(tiny_folders, tmp_path, capsys, key, value, word):
    """edit-svg's fills-only trajectory keeps Adam's moments in the sampler state: a crafted value is refused in
    one line naming the field, before anything is written; the unedited checkpoint resumes."""
    from dreamsampler3d.cli.main import main
    from dreamsampler3d.data.icons import make_scene

    (tmp_path / "in.svg").write_text(make_scene([("red", "star", "top left"), ("blue", "circle", None)]).svg())
    base = ["edit-svg", "--svg", str(tmp_path / "in.svg"), "--prompt", "a green star", "--model",
            tiny_folders["sd1"], "--steps", str(STEPS), "--no-progress", "run.checkpoint_every=1",
            "run.snapshot_every=0", "inner_steps=1", "output_size=64", "video_every=0"]
    assert main([*base, "--out", str(tmp_path / "run")]) == 0
    ckpt = _load(tmp_path / "run" / "checkpoints" / "last.ckpt")
    torch.save(ckpt, tmp_path / "same.ckpt")
    assert main([*base, "--out", str(tmp_path / "same"), "--resume", str(tmp_path / "same.ckpt")]) == 0
    capsys.readouterr()
    ckpt["sampler_state"][key] = torch.full_like(ckpt["sampler_state"][key], value)
    crafted = tmp_path / "crafted.ckpt"
    torch.save(ckpt, crafted)
    out = tmp_path / "resumed"
    code = main([*base, "--out", str(out), "--resume", str(crafted)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and word in err, err
    assert not out.exists()
