"""Batches: sharding across 2 CPU processes (gloo) gives the single-process bytes; kill and rerun loses and
duplicates nothing; one item's failure never stops the others."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dreamsampler3d.batch.items import read_items
from dreamsampler3d.errors import UserError

PROMPTS = ["a red star", "a blue circle", "a green square", "a yellow heart", "a purple ring", "an orange cross",
           "a pink diamond"]


def _batch(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "dreamsampler3d.cli.main", "batch", "--no-progress", "--threads", "1", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, **kwargs)


def _manifest(out: Path) -> list[dict]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]  # every line parses: valid JSONL


def _prompt_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.txt"
    path.write_text("\n".join(PROMPTS) + "\n")
    return path


@pytest.mark.slow
def test_two_processes_match_one(tiny_folders, tmp_path):
    prompts = _prompt_file(tmp_path)
    common = ["--task", "generate", "--prompts", str(prompts), "--model", tiny_folders["sd1"], "--steps", "6"]
    one = _batch([*common, "--out", str(tmp_path / "one"), "--devices", "1"])
    two = _batch([*common, "--out", str(tmp_path / "two"), "--devices", "2"])
    assert one.returncode == 0, one.stderr[-2000:]
    assert two.returncode == 0, two.stderr[-2000:]
    records = _manifest(tmp_path / "two")
    assert sorted(r["item"] for r in records if r["status"] == "done") == sorted(
        p.name for p in (tmp_path / "two").iterdir() if p.is_dir())
    assert len(records) == len(PROMPTS)  # each item written exactly once
    assert {r["rank"] for r in records} == {0, 1}  # both processes worked
    for record in records:
        a = (tmp_path / "one" / record["item"] / "result.png").read_bytes()
        b = (tmp_path / "two" / record["item"] / "result.png").read_bytes()
        assert a == b, record["item"]
    assert not list((tmp_path / "two").glob(".partial-*"))


@pytest.mark.slow
def test_kill_and_rerun_loses_nothing_and_redoes_nothing(tiny_folders, tmp_path):
    prompts = _prompt_file(tmp_path)
    out = tmp_path / "out"
    args = ["--task", "generate", "--prompts", str(prompts), "--model", tiny_folders["sd1"], "--steps", "80",
            "--out", str(out), "--devices", "2"]
    env = dict(os.environ, HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "dreamsampler3d.cli.main", "batch", "--no-progress", "--threads", "1", *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    try:
        while time.time() < deadline and proc.poll() is None:
            manifest = out / "manifest.jsonl"
            if manifest.is_file() and len(manifest.read_text().splitlines()) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the batch finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and its worker process
    finally:
        proc.wait()
    before = _manifest(out)
    done_before = {r["item"] for r in before if r["status"] == "done"}
    assert 2 <= len(done_before) < len(PROMPTS)
    stamps = {item: (out / item / "result.png").stat().st_mtime_ns for item in done_before}

    rerun = _batch(args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    records = _manifest(out)
    done = [r["item"] for r in records if r["status"] == "done"]
    assert sorted(done) == sorted(set(done)) and len(done) == len(PROMPTS)  # nothing lost, nothing twice
    for item, stamp in stamps.items():  # finished items were not redone
        assert (out / item / "result.png").stat().st_mtime_ns == stamp
    assert not list(out.glob(".partial-*"))


def test_a_failing_item_does_not_stop_the_others(tiny_folders, tmp_path):
    path = tmp_path / "p.jsonl"
    rows = [{"prompt": "a red star"}, {"prompt": "a blue circle", "options": {"sampler.guidance": "abc"}},
            {"prompt": "a green square", "seed": 11}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    args = ["--task", "generate", "--prompts", str(path), "--model", tiny_folders["sd1"], "--steps", "3",
            "--out", str(tmp_path / "o")]
    first = _batch(args)
    assert first.returncode == 1
    status = {r["item"]: r["status"] for r in _manifest(tmp_path / "o")}
    assert status == {"00000-a-red-star": "done", "00001-a-blue-circle": "failed", "00002-a-green-square": "done"}
    second = _batch(args)  # retries the failed item only
    records = _manifest(tmp_path / "o")
    assert second.returncode == 1 and len(records) == 4 and records[-1]["item"] == "00001-a-blue-circle"
    assert "guidance" in records[-1]["error"]


def test_prompt_file_formats(tmp_path):
    (tmp_path / "a.txt").write_text("# header\na red star\n\n a blue circle \n")
    items = read_items(tmp_path / "a.txt", base_seed=5)
    assert [(i.prompt, i.seed) for i in items] == [("a red star", 5), ("a blue circle", 6)]
    (tmp_path / "b.csv").write_text("prompt,seed,sampler.guidance\na red star,3,5.0\na blue circle,,\n")
    items = read_items(tmp_path / "b.csv")
    assert items[0].seed == 3 and items[0].options == {"sampler.guidance": "5.0"} and items[1].seed == 1
    (tmp_path / "c.jsonl").write_text('{"prompt": "x", "options": {"run.steps": 4}}\n')
    assert read_items(tmp_path / "c.jsonl")[0].overrides() == ["run.steps=4"]
    (tmp_path / "d.jsonl").write_text("not json\n")
    with pytest.raises(UserError, match="not valid JSON"):
        read_items(tmp_path / "d.jsonl")
    with pytest.raises(UserError, match="no such file"):
        read_items(tmp_path / "none.txt")
