"""`--help` per task from the catalogue file: its own text, only the options that apply, their defaults, worked
examples that run, and no torch import for help or argument errors."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from dreamsampler3d.cli import catalogue
from dreamsampler3d.cli.main import _flags, _task_parser, main

TASKS = [t["name"] for t in catalogue.load()["tasks"]]


def test_catalogue_file_matches_the_registry():
    assert catalogue.load() == catalogue.build(), "run: python -m dreamsampler3d.cli.catalogue"


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_help_and_argument_errors_do_not_import_torch():
    probe = ("import sys\nfrom dreamsampler3d.cli.main import main\n"
             "for argv in {argvs!r}:\n"
             "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
             "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')")
    argvs = [["--help"], ["text-to-svg", "--bogus-flag"], ["restore", "--degradation", "sr3"]] + [[t, "--help"] for t in TASKS]
    r = _fresh(probe.format(argvs=argvs))
    assert r.stdout.strip().endswith("NO TORCH"), r.stdout[-500:] + r.stderr[-500:]
    assert "invalid choice: 'sr3'" in r.stderr and "unrecognized arguments: --bogus-flag" in r.stderr


@pytest.mark.parametrize("task", TASKS)
def test_each_task_has_its_own_help(task, capsys):
    with pytest.raises(SystemExit) as done:
        main([task, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    info = catalogue.task(task)
    assert info["about"] and info["about"].split()[0] in out
    assert all(e in out for e in info["examples"]) and f"dreamsampler3d {task} " in out
    assert f"(default: {info['steps_default']})" in out
    for key, value in list(info["options"].items())[:3]:
        assert f"{key.rpartition('.')[2]}=" in out
    if not info["needs_prior"]:
        assert "--model" not in out and "prior." not in out and "sampler." not in out
    if "masks" not in info["inputs"]:
        assert "one --prompt per --mask" not in out


def test_the_top_level_help_shows_one_example_per_task(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for t in catalogue.load()["tasks"]:
        assert f"dreamsampler3d {t['name']} " in out


def _example_argv(example: str) -> list[str]:
    return shlex.split(example)[1:]


@pytest.mark.parametrize("task", TASKS)
def test_examples_are_valid_commands(task, tmp_path, monkeypatch):
    from dreamsampler3d.config import build_config

    monkeypatch.chdir(tmp_path)
    assert main(["samples", "samples"]) == 0
    info = catalogue.task(task)
    for example in info["examples"]:
        argv = _example_argv(example)
        if argv[0] == "samples":
            continue
        args = _task_parser(info).parse_intermixed_args(argv[1:])
        cfg = build_config(task, args.config, args.overrides, _flags(info, args))  # validated
        for key in ("image", "svg_file"):
            if getattr(cfg, key, ""):
                assert (tmp_path / getattr(cfg, key)).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("task", TASKS)
def test_examples_run(task, tmp_path, monkeypatch):
    """Each worked example runs as printed (fewer steps), from a folder holding only `dreamsampler3d samples`."""
    monkeypatch.chdir(tmp_path)
    for example in catalogue.task(task)["examples"]:
        argv = _example_argv(example)
        if argv[0] != "samples":
            argv += ["--steps", "6", "--no-progress"]
        assert main(argv) == 0, example
    assert any(tmp_path.glob("out/*/result.png"))
