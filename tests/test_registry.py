"""The task registry: a task declared in one module (this test module) and one YAML file (written by the test)
runs through the real CLI with no other file of the project changed; the CLI's parsers, --method choices and
help, and the batchable tasks, come from the specs."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
from PIL import Image

import dreamsampler3d
from dreamsampler3d.cli.catalogue import info
from dreamsampler3d.cli.main import _task_parser, main
from dreamsampler3d.config import build_config
from dreamsampler3d.config_base import Common
from dreamsampler3d.errors import UserError, require
from dreamsampler3d.tasks import registry
from dreamsampler3d.tasks.base import SamplingTask
from dreamsampler3d.tasks.registry import TaskSpec, register

NAME = "flat-colour"  # a name no file of the package mentions


# ---------------------------------------------------------------------------------------------- the toy task
@dataclass
class FlatOptions:
    colour: List[float] = field(default_factory=lambda: [1.0, 0.0, 0.0])  # RGB in [0, 1]
    size: int = 16
    method: str = "fade"  # fade: from black to the colour over the steps; at-once: the colour from the first step


@dataclass
class FlatConfig(Common, FlatOptions):
    pass


class FlatTask(SamplingTask):
    def __init__(self, options: FlatOptions, num_steps: int, seed: int):
        super().__init__(None, num_steps, seed)  # no prior
        self.options = options

    def initial_state(self) -> dict[str, torch.Tensor]:
        return {"image": -torch.ones(1, 3, self.options.size, self.options.size)}

    def advance(self, i: int) -> dict[str, float]:
        share = 1.0 if self.options.method == "at-once" else (i + 1) / self.num_steps
        target = torch.tensor(self.options.colour).view(1, 3, 1, 1) * 2 - 1
        self.state["image"] = (-1 + share * (target + 1)).expand_as(self.state["image"]).clone()
        return {"share": share}

    def render(self) -> torch.Tensor:
        return self.state["image"]


def _check(cfg: FlatConfig) -> None:
    require(cfg.size >= 1, f"config: size must be >= 1, got {cfg.size}")
    require(len(cfg.colour) == 3 and all(0 <= c <= 1 for c in cfg.colour),
            f"config: colour must be three numbers in [0, 1], got {cfg.colour}")


def _build(cfg: FlatConfig, prior, inputs):
    assert prior is None  # needs_prior=False: no model is loaded
    task = FlatTask(cfg, cfg.run.steps, cfg.run.seed)
    return task, lambda result: {"mean_rgb": [round(float(v), 4) for v in (result.mean((0, 2, 3)) + 1) / 2]}


YAML = """# the flat-colour task's defaults
colour: [0.0, 0.5, 1.0]
size: 8
run:
  steps: 3
"""


@pytest.fixture
def isolated_registry(monkeypatch):
    """The registry as it is, in a copy this test may change."""
    registry.specs()  # the built-in tasks register once, on first use: before the copy
    monkeypatch.setattr(registry, "_SPECS", dict(registry._SPECS))


@pytest.fixture
def flat(isolated_registry, tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / f"{NAME}.yaml").write_text(YAML)
    return register(TaskSpec(name=NAME, help="a flat colour, faded in over the steps (a test task)", config=FlatConfig,
                             build=_build, methods=("fade", "at-once"), method_help="fade in, or the colour at once",
                             needs_prior=False, check=_check, defaults=folder))


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: --help and usage errors
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _words(text: str) -> str:
    return " ".join(text.split())  # argparse wraps help lines


# ---------------------------------------------------------------------------------------------- the tests
def test_a_task_in_its_own_module_and_one_yaml_runs_from_the_cli(flat, tmp_path, capsys):
    code, out, _ = _run(["--help"], capsys)
    assert code == 0 and NAME in out and _words(flat.help) in _words(out)
    code, out, _ = _run([NAME, "--help"], capsys)
    assert code == 0 and _words(flat.help) in _words(out) and "--method {fade,at-once}" in out
    assert "[--prompt" not in out and "[--image" not in out  # it declared no inputs (the epilog names them)

    for argv, words in [(["colour_typo=1"], "colour_typo"), (["size=0"], "size must be >= 1, got 0"),
                        (["method=wipe"], "method must be fade or at-once, got 'wipe'"),
                        (["colour=[1,2,3]"], "colour must be three numbers")]:
        code, _, err = _run([NAME, "--out", str(tmp_path / "bad"), "--no-progress", *argv], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and words in err, err
        assert err.startswith("dreamsampler3d: error: config:"), err
    code, _, err = _run([NAME, "--method", "wipe"], capsys)
    assert code == 2 and "invalid choice" in err

    out = tmp_path / "run"
    code, printed, err = _run([NAME, "--out", str(out), "--no-progress"], capsys)
    assert code == 0, err
    assert printed.strip() == str(out / "result.png")
    pixels = np.asarray(Image.open(out / "result.png").convert("RGB"))
    assert pixels.shape == (8, 8, 3)  # size and colour from the YAML found beside the spec
    assert np.abs(pixels.astype(int) - [0, 128, 255]).max() <= 1
    config = (out / "config.yaml").read_text()
    assert "method: fade" in config and "size: 8" in config and "steps: 3" in config
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == NAME and metrics["steps"] == 3 and metrics["steps_run"] == 3
    assert metrics["mean_rgb"] == pytest.approx([0.0, 0.5, 1.0], abs=0.01)

    # at-once, fewer steps, a key=value override: all through the same generic paths
    code, _, err = _run([NAME, "--out", str(tmp_path / "once"), "--no-progress", "--method", "at-once", "--steps", "1",
                         "colour=[1.0,1.0,0.0]"], capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "once" / "metrics.json").read_text())["mean_rgb"] == pytest.approx([1, 1, 0], abs=0.01)

    # nothing of the package knows the task: this module and its YAML are all it took
    package = Path(dreamsampler3d.__file__).parent
    assert not any(NAME in p.read_text(errors="ignore") for p in package.rglob("*") if p.suffix in (".py", ".yaml"))


def test_method_choices_flags_and_help_come_from_the_specs(capsys):
    specs = registry.specs()
    assert [s.name for s in specs] == ["generate", "edit", "inpaint", "restore", "text-to-svg", "restore-svg",
                                       "edit-svg", "vectorize", "text-to-3d"]  # the order of the help, as before
    _, out, _ = _run(["--help"], capsys)
    listing = _words(out)
    assert [s.name for s in specs] == sorted((s.name for s in specs), key=lambda n: listing.index(f" {n} "))
    for spec in specs:
        assert _words(spec.help) in listing
        parser = _task_parser(info(spec))
        assert parser.description == spec.help
        actions = {a.option_strings[0]: a for a in parser._actions if a.option_strings}
        if spec.methods:
            assert tuple(actions["--method"].choices) == spec.methods and spec.method_help in actions["--method"].help
        else:
            assert "--method" not in actions
        inputs = set(spec.inputs)
        assert ("--prompt" in actions) == bool(inputs & {"prompt", "prompts"}), spec.name
        assert ("--image" in actions) == ("image" in inputs), spec.name
        assert ("--svg" in actions) == ("svg" in inputs), spec.name
        assert ("--mask" in actions) == bool(inputs & {"mask", "masks"}), spec.name
        assert ("--degradation" in actions) == ("degradation" in inputs), spec.name


def _two_stages(cfg: FlatConfig, run_config, log):
    """fade-twice: an at-once run into stage1/, then a fade run into --out; other methods are one run."""
    if cfg.method != "fade-twice":
        return None
    stage1 = dataclasses.replace(cfg.run, out=str(Path(cfg.run.out) / "stage1"))
    run_config(NAME, dataclasses.replace(cfg, method="at-once", run=stage1), log)
    return run_config(NAME, dataclasses.replace(cfg, method="fade"), log)


def test_a_spec_may_run_several_stages(flat, tmp_path, capsys):
    registry._SPECS[NAME] = dataclasses.replace(flat, methods=("fade", "at-once", "fade-twice"), run=_two_stages)
    code, _, err = _run([NAME, "--out", str(tmp_path / "one"), "--no-progress", "--method", "at-once"], capsys)
    assert code == 0, err
    assert not (tmp_path / "one" / "stage1").exists()
    code, _, err = _run([NAME, "--out", str(tmp_path / "two"), "--no-progress", "--method", "fade-twice"], capsys)
    assert code == 0, err
    assert "method: at-once" in (tmp_path / "two" / "stage1" / "config.yaml").read_text()
    assert "method: fade" in (tmp_path / "two" / "config.yaml").read_text()


@pytest.mark.parametrize("task,argv,expected", [
    ("generate", ["--prompt", "a"], {"prompt": "a"}),
    ("inpaint", ["--image", "i", "--mask", "m1", "--mask", "m2", "--prompt", "a", "--prompt", "b"],
     {"image": "i", "masks": ["m1", "m2"], "prompts": ["a", "b"]}),
    ("restore", ["--image", "i", "--mask", "m", "--degradation", "inpaint", "--prompt", "a"],
     {"image": "i", "mask": "m", "degradation": "inpaint", "prompts": ["a"]}),
    ("edit-svg", ["--svg", "s.svg", "--prompt", "a", "--method", "pds"], {"svg_file": "s.svg", "prompt": "a", "method": "pds"}),
])
def test_flags_follow_the_input_kinds(task, argv, expected):
    from dreamsampler3d.cli.main import _flags

    spec = registry.get(task)
    assert _flags(info(spec), _task_parser(info(spec)).parse_intermixed_args(argv)) == expected


@pytest.mark.parametrize("task,argv,message", [
    ("edit", ["--prompt", "a", "--prompt", "b"], "edit takes one --prompt"),
    ("restore-svg", ["--mask", "a", "--mask", "b"], "restore-svg takes one --mask"),
])
def test_one_valued_inputs_take_one_flag(task, argv, message):
    from dreamsampler3d.cli.main import _flags

    spec = registry.get(task)
    with pytest.raises(UserError, match=f"^{message}$"):
        _flags(info(spec), _task_parser(info(spec)).parse_intermixed_args(argv))


REQUIRED = {"prompt": "config: prompt is required (--prompt TEXT)", "image": "config: image is required (--image FILE)",
            "svg": "config: an SVG is required (--svg FILE)", "masks": "config: at least one mask is required (--mask FILE)"}


def test_declared_inputs_are_required_in_their_order():
    for spec in registry.specs():
        given: dict = {}
        for kind in [k for k in spec.inputs if k in REQUIRED]:
            with pytest.raises(UserError, match=f"^{re.escape(REQUIRED[kind])}$"):
                build_config(spec.name, None, [], given)
            given[registry.INPUTS[kind]] = ["m.png"] if kind == "masks" else "x"


def test_a_changed_spec_changes_the_cli_and_the_checks(isolated_registry, tmp_path, capsys):
    spec = registry.get("vectorize")
    registry._SPECS["vectorize"] = dataclasses.replace(spec, methods=("fit",), help="changed help")
    code, _, err = _run(["vectorize", "--image", "x.png", "--method", "trace"], capsys)
    assert code == 2 and "invalid choice: 'trace'" in err
    code, out, _ = _run(["vectorize", "--help"], capsys)
    assert "changed help" in out and "{fit}" in out
    with pytest.raises(UserError, match="method must be one of fit, got 'trace'"):
        build_config("vectorize", None, ["method=trace"], {"image": "x.png"})


def test_batch_tasks_come_from_the_specs(isolated_registry, tmp_path, capsys):
    from dreamsampler3d.batch.runner import batch_tasks

    assert batch_tasks() == ["generate", "text-to-3d", "text-to-svg"]
    registry._SPECS["text-to-svg"] = dataclasses.replace(registry.get("text-to-svg"), batch=False)
    assert batch_tasks() == ["generate", "text-to-3d"]
    prompts = tmp_path / "p.txt"
    prompts.write_text("a red star\n")
    code, _, err = _run(["batch", "--task", "text-to-svg", "--prompts", str(prompts), "--out", str(tmp_path / "b")], capsys)
    assert code == 2 and "--task must be one of generate, text-to-3d, got 'text-to-svg'" in err


def test_unknown_tasks_and_broken_specs(isolated_registry):
    with pytest.raises(UserError, match="^unknown task 'nope'$"):
        registry.get("nope")
    with pytest.raises(UserError, match="unknown task 'nope'"):
        build_config("nope")

    def spec(**kw):
        return TaskSpec(**{"name": "broken", "help": "", "config": FlatConfig, "build": _build, **kw})

    with pytest.raises(ValueError, match="unknown input 'video'"):
        register(spec(inputs=("video",)))
    with pytest.raises(ValueError, match="no key 'image'"):
        register(spec(inputs=("image",)))
    with pytest.raises(ValueError, match="batch task"):
        register(spec(batch=True))
    with pytest.raises(ValueError, match="registered twice"):
        register(spec(name="generate"))
    assert "broken" not in {s.name for s in registry.specs()}
