"""Checks on a ``--resume`` checkpoint: every field against what this run would have written, before any of it is
used.

The run fingerprint says which configuration wrote a checkpoint, but anyone can recompute it, so it proves
nothing about the contents. A checkpoint is therefore read in three steps, each failure a one-line ``UserError``
naming the field:

1. ``read_checkpoint``: the file is a torch zip archive of stored (uncompressed) records with a small pickle, read
   with ``weights_only=True`` (no code runs) and ``mmap=True`` (tensor data stays in the file, nothing is
   allocated from it yet), and migrated to this Lightning's layout;
2. ``check_header`` (before the model loads): the fingerprint, the step it was taken at (``0 < done < steps``),
   the epoch and step counters that agree with it, and the sampler's RNG state;
3. ``check_for_run`` (once the task is built, before any file is written): the top-level keys, Lightning's loop
   counters, optimiser and callback states against a fresh Trainer's, the module's parameters against its own
   ``state_dict()``, and the task's own fields through ``SamplingTask.check_checkpoint`` (the sampler state
   against ``state_template()``; the SVG tasks add their generator's structure, optimiser and frames). Every
   tensor's dtype and shape is checked before its values are read (finite, in range), and the file may not be
   much larger than the fields it holds. Only then are the tensors copied out of the file (``materialise``) for
   Lightning to load.

``Check`` holds the small field checks the tasks use: no task parses a checkpoint by hand.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any, Iterable, NoReturn

import torch
from torch import Tensor

from ..errors import UserError

MAX_PICKLE_BYTES = 64 * 2**20  # the pickled structure of a checkpoint (the tensors' data lies beside it)
FLOAT_BOUND = 1e6  # |value| of the floating-point tensors a run keeps (latents, cameras, scores)
SLACK_BYTES = 8 * 2**20  # what a checkpoint file may hold beyond its fields' data (pickle, zip records, views)
LIGHTNING_KEYS = frozenset({"epoch", "global_step", "pytorch-lightning_version", "state_dict", "loops", "callbacks",
                            "optimizer_states", "lr_schedulers"})


class Check:
    """Field checks on one checkpoint; each failure is ``UserError('--resume PATH: FIELD: what is wrong')``."""

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)

    def fail(self, where: str, message: str) -> NoReturn:
        raise UserError(f"--resume {self.path}: {where}: {message}" if where else f"--resume {self.path}: {message}")

    # ------------------------------------------------------------------ containers
    def mapping(self, value: Any, where: str, keys: Iterable[str] | None = None, optional: Iterable[str] = ()) -> dict:
        """A dict; with ``keys``: exactly those keys, plus any of ``optional``."""
        if not isinstance(value, dict):
            self.fail(where, f"expected a dict, found {_kind(value)}")
        if keys is not None:
            keys, optional = set(keys), set(optional)
            missing = sorted(map(str, keys - set(value)))
            if missing:
                self.fail(_join(where, missing[0]), "missing")
            extra = sorted(map(str, set(value) - keys - optional))
            if extra:
                self.fail(_join(where, extra[0]), "not a field this run writes")
        return value

    def sequence(self, value: Any, where: str, max_len: int, min_len: int = 0) -> list | tuple:
        if not isinstance(value, (list, tuple)):
            self.fail(where, f"expected a list, found {_kind(value)}")
        if not min_len <= len(value) <= max_len:
            self.fail(where, f"{len(value)} entries, expected {min_len}..{max_len}")
        return value

    # ------------------------------------------------------------------ numbers
    def integer(self, value: Any, where: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected an integer, found {_kind(value)}")
        if not low <= value <= high:
            self.fail(where, f"{value} is outside {low}..{high}")
        return value

    def number(self, value: Any, where: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(where, f"expected a number, found {_kind(value)}")
        if not math.isfinite(value) or not low <= value <= high:
            self.fail(where, f"{value} is outside [{low:g}, {high:g}]")
        return float(value)

    # ------------------------------------------------------------------ tensors
    def tensor(self, value: Any, where: str, dtype: torch.dtype, shape: tuple[int, ...],
               low: float | None = None, high: float | None = None) -> Tensor:
        """A tensor of exactly ``dtype`` and ``shape`` (checked before any value is read), then its values: finite
        for floating dtypes, within [low, high] when given."""
        if not isinstance(value, Tensor):
            self.fail(where, f"expected a tensor, found {_kind(value)}")
        if value.dtype != dtype:
            self.fail(where, f"dtype {_dtype(value.dtype)}, this run writes {_dtype(dtype)}")
        if tuple(value.shape) != tuple(shape):
            self.fail(where, f"shape {_shape(value.shape)}, this run writes {_shape(shape)}")
        if value.numel() == 0 or dtype == torch.bool:
            return value
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            self.fail(where, "holds NaN or infinite values")
        if low is not None and float(value.min()) < low:
            self.fail(where, f"holds {float(value.min()):g}, below {low:g}")
        if high is not None and float(value.max()) > high:
            self.fail(where, f"holds {float(value.max()):g}, above {high:g}")
        return value

    def like(self, value: Any, template: Tensor, where: str, low: float | None = None,
             high: float | None = None) -> Tensor:
        """A tensor of the template's dtype and shape; floating values finite and within +-FLOAT_BOUND unless
        ``low`` / ``high`` say otherwise."""
        if template.is_floating_point():
            low = -FLOAT_BOUND if low is None else low
            high = FLOAT_BOUND if high is None else high
        return self.tensor(value, where, template.dtype, tuple(template.shape), low, high)

    def same(self, value: Any, template: Any, where: str) -> None:
        """``value`` has the template's structure: the same dict keys and list lengths, tensors like the template's
        (``like``), and equal plain values (numbers, strings, flags, None)."""
        if isinstance(template, dict):
            self.mapping(value, where, template.keys())
            for key, sub in template.items():
                self.same(value[key], sub, _join(where, key))
        elif isinstance(template, (list, tuple)):
            if not isinstance(value, (list, tuple)) or len(value) != len(template):
                self.fail(where, f"expected {len(template)} entries, found {_kind(value)}")
            for k, (got, sub) in enumerate(zip(value, template)):
                self.same(got, sub, f"{where}[{k}]")
        elif isinstance(template, Tensor):
            self.like(value, template, where)
        elif type(value) is not type(template) or value != template:
            self.fail(where, f"{_short(value)}, this run writes {_short(template)}")

    def rng_state(self, value: Any, where: str) -> Tensor:
        """A CPU torch.Generator state that torch accepts and that draws finite numbers."""
        self.tensor(value, where, torch.uint8, tuple(torch.Generator().get_state().shape))
        trial = torch.Generator()
        try:
            trial.set_state(value.clone())
            draws = [torch.randn(1, generator=trial), torch.randn(1, generator=trial, dtype=torch.float64),
                     torch.randn(64, generator=trial), torch.rand(64, generator=trial)]
        except (RuntimeError, ValueError, TypeError) as exc:
            self.fail(where, f"not a valid random generator state ({str(exc).strip().splitlines()[0]})")
        if not all(bool(torch.isfinite(d).all()) for d in draws):
            self.fail(where, "not a valid random generator state (it draws NaN)")
        return value

    def optimizer(self, value: Any, fresh: torch.optim.Optimizer, where: str, max_step: int) -> None:
        """An optimiser's state_dict as ``fresh`` (a new optimiser of this run, over the same parameters) writes it:
        the same parameter groups and hyper-parameters, and per parameter the state one step of ``fresh`` creates
        (shapes and dtypes), with a step count in 0..max_step and non-negative second moments."""
        self.mapping(value, where, ("state", "param_groups"))
        expected = fresh.state_dict()
        self.same(value["param_groups"], expected["param_groups"], f"{where}.param_groups")
        template = _one_step_state(fresh)
        state = self.mapping(value["state"], f"{where}.state")
        for index, entry in state.items():
            if isinstance(index, bool) or not isinstance(index, int) or index not in template:
                self.fail(f"{where}.state", f"{_short(index)} is not a parameter index of this run's optimiser")
            self.mapping(entry, f"{where}.state.{index}", template[index].keys())
            for key, sub in template[index].items():
                at = f"{where}.state.{index}.{key}"
                if key == "step" and isinstance(sub, Tensor):
                    self.like(entry[key], sub, at, low=0, high=max_step)
                elif key.endswith("_sq") and isinstance(sub, Tensor):
                    self.like(entry[key], sub, at, low=0)
                else:
                    self.same(entry[key], sub, at)


# ---------------------------------------------------------------------------- reading
def read_checkpoint(path: str | os.PathLike) -> dict:
    """The checkpoint at ``path``, read without running code and without allocating its tensors (memory-mapped),
    migrated to this Lightning's layout. Not yet checked beyond being a dict of this tool's archive format."""
    check = Check(path)
    path = Path(path)
    if not path.is_file():
        check.fail("", "no such checkpoint")
    what = "not a checkpoint of this tool"
    try:
        with zipfile.ZipFile(path) as archive:
            records = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        check.fail("", f"{what} (not a torch zip archive; only tensors and plain values are read)")
    pickles = [r for r in records if r.filename.endswith("/data.pkl")]
    if len(pickles) != 1 or any(r.compress_type != zipfile.ZIP_STORED for r in records):
        check.fail("", f"{what} (its archive records are not those torch.save writes)")
    if pickles[0].file_size > MAX_PICKLE_BYTES:
        check.fail("", f"{what} (its structure takes {pickles[0].file_size / 2**20:.0f} MB, more than "
                       f"{MAX_PICKLE_BYTES // 2**20} MB)")
    try:  # tensors and plain containers only: a checkpoint from elsewhere must not run code when read
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol would precede our one line
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        check.fail("", f"not a readable checkpoint of this tool (only tensors and plain values are read; "
                       f"{type(exc).__name__})")
    if not isinstance(ckpt, dict):
        check.fail("", what)
    return _migrated(ckpt, check)


def _migrated(ckpt: dict, check: Check) -> dict:
    """Lightning's own upgrade of an older checkpoint, run here so that its failures are one line too."""
    import lightning
    from packaging.version import InvalidVersion, Version

    version = ckpt.get("pytorch-lightning_version")
    if not isinstance(version, str):
        check.fail("pytorch-lightning_version", f"expected a version string, found {_kind(version)}")
    try:
        newer = Version(version) > Version(lightning.__version__)
    except InvalidVersion:
        check.fail("pytorch-lightning_version", f"{_short(version)} is not a version")
    if newer:
        check.fail("pytorch-lightning_version", f"written by Lightning {version}, newer than this one "
                                                f"({lightning.__version__})")
    if version == lightning.__version__:
        return ckpt
    from lightning.pytorch.utilities.migration.utils import migrate_checkpoint

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return migrate_checkpoint(ckpt)[0]
    except Exception as exc:
        check.fail("", f"Lightning cannot upgrade this checkpoint from version {version} ({type(exc).__name__})")


# ---------------------------------------------------------------------------- before the model loads
def check_header(ckpt: dict, path: str | os.PathLike, fingerprint: str, steps: int) -> int:
    """The checks that need no model: the run, the step it was taken at, the counters that agree with that step,
    the sampler's RNG state. Returns the step (``done``)."""
    check = Check(path)
    if ckpt.get("run_fingerprint") != fingerprint:
        check.fail("", "the checkpoint belongs to a run with a different configuration")
    state = check.mapping(ckpt.get("sampler_state"), "sampler_state")
    if "done" not in state:
        check.fail("sampler_state.done", "missing")
    done = int(check.tensor(state["done"], "sampler_state.done", torch.int64, ()))
    if not 1 <= done <= steps - 1:  # checkpoints are written after a step and before the last
        check.fail("sampler_state.done", f"{done} is outside 1..{steps - 1} for a run of {steps} steps")
    check.integer(ckpt.get("epoch"), "epoch", done - 1, done - 1)
    check.integer(ckpt.get("global_step"), "global_step", 0, 2**62)
    check.rng_state(ckpt.get("sampler_rng"), "sampler_rng")
    return done


# ---------------------------------------------------------------------------- once the task is built
def check_for_run(ckpt: dict, path: str | os.PathLike, module, trainer) -> dict:
    """Every field against what ``module`` run by ``trainer`` (fresh, before ``fit``) would write; returns a copy
    of the checkpoint with every tensor in memory of its own, for Lightning to load."""
    check = Check(path)
    done = int(ckpt["sampler_state"]["done"])  # check_header has checked it
    probe: dict = {}
    module.on_save_checkpoint(probe)  # the module's own top-level fields, as it writes them
    optional = {"legacy_pytorch-lightning_version"}  # set by Lightning's migration of an older checkpoint
    check.mapping(ckpt, "", LIGHTNING_KEYS | set(probe) | {"run_fingerprint"}, optional)
    if "legacy_pytorch-lightning_version" in ckpt and not isinstance(ckpt["legacy_pytorch-lightning_version"], str):
        check.fail("legacy_pytorch-lightning_version", "expected a version string")

    optimiser_steps = ckpt["global_step"]
    check.same(ckpt["loops"], _loops_at(trainer, done, optimiser_steps), "loops")
    check.same(ckpt["callbacks"], {cb.state_key: cb.state_dict() for cb in trainer.callbacks if cb.state_dict()},
               "callbacks")
    check.same(ckpt["lr_schedulers"], [], "lr_schedulers")
    fresh = module.configure_optimizers()
    if fresh is None:  # manual optimisation without Lightning's optimiser: Lightning writes one empty state
        check.same(ckpt["optimizer_states"], [{}], "optimizer_states")
    elif isinstance(fresh, torch.optim.Optimizer):
        check.sequence(ckpt["optimizer_states"], "optimizer_states", 1, 1)
        check.optimizer(ckpt["optimizer_states"][0], fresh, "optimizer_states[0]", max_step=optimiser_steps)
    else:
        check.fail("optimizer_states", "this task's optimisers cannot be checked")

    saved = check.mapping(ckpt["state_dict"], "state_dict")
    dynamic = module.dynamic_parameter_prefixes()
    expected = {k: v for k, v in module.state_dict().items() if not k.startswith(dynamic)}
    for key in saved:
        if not isinstance(key, str) or key not in expected and not key.startswith(dynamic):
            check.fail(f"state_dict.{key}", "not a parameter of this run")
    for key, template in expected.items():
        if key not in saved:
            check.fail(f"state_dict.{key}", "missing")
        check.like(saved[key], template.detach().cpu(), f"state_dict.{key}")
    module.check_checkpoint(ckpt, check, done)

    data = sum(t.numel() * t.element_size() for t in _tensors(ckpt))
    size = Path(path).stat().st_size
    if size > 2 * data + SLACK_BYTES:
        check.fail("", f"the file takes {size / 2**20:.1f} MB but its fields only {data / 2**20:.1f} MB: not a "
                       "checkpoint this run wrote")
    return materialise(ckpt)


def _loops_at(trainer, done: int, optimiser_steps: int) -> dict:
    """Lightning's loop counters as this run writes them at the end of step ``done`` (one batch per epoch, no
    validation), from a fresh Trainer's counters: epochs started and processed ``done``, completed ``done - 1``;
    the optimiser steps of manual optimisation equal to the checkpoint's global_step."""
    loops = {"fit_loop": trainer.fit_loop.state_dict(), "validate_loop": trainer.validate_loop.state_dict(),
             "test_loop": trainer.test_loop.state_dict(), "predict_loop": trainer.predict_loop.state_dict()}
    fit = loops["fit_loop"]
    try:
        for part in ("total", "current"):
            fit["epoch_progress"][part].update(ready=done, started=done, processed=done, completed=done - 1)
            fit["epoch_loop.batch_progress"][part].update(
                {k: done if part == "total" else 1 for k in fit["epoch_loop.batch_progress"][part]})
            fit["epoch_loop.manual_optimization.optim_step_progress"][part].update(
                ready=optimiser_steps, completed=optimiser_steps)
        fit["epoch_loop.batch_progress"]["is_last_batch"] = True
        fit["epoch_loop.state_dict"]["_batches_that_stepped"] = done
    except KeyError as exc:  # another Lightning: its counters need describing here
        raise RuntimeError(f"checkpoint_checks: Lightning's loop state has no {exc} any more") from None
    return loops


def _one_step_state(fresh: torch.optim.Optimizer) -> dict[int, dict]:
    """The per-parameter state ``fresh``'s class writes after a step: one step of a copy over parameter clones."""
    groups = []
    for group in fresh.param_groups:
        params = [torch.zeros_like(p, device="cpu", requires_grad=True) for p in group["params"]]
        for p in params:
            p.grad = torch.zeros_like(p)
        groups.append({**group, "params": params})
    copy = type(fresh)(groups)
    copy.step()
    return copy.state_dict()["state"]


def materialise(value: Any) -> Any:
    """The checkpoint with every tensor copied into memory of its own (none left mapped from the file)."""
    if isinstance(value, Tensor):
        return value.detach().clone(memory_format=torch.contiguous_format)
    if isinstance(value, dict):
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, list):
        return [materialise(v) for v in value]
    if isinstance(value, tuple):
        return tuple(materialise(v) for v in value)
    return value


def _tensors(value: Any) -> Iterable[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v)


# ---------------------------------------------------------------------------- messages
def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _kind(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a tensor {_shape(value.shape)}"
    return "nothing" if value is None else type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _shape(shape) -> str:
    return "[" + ", ".join(str(int(s)) for s in shape) + "]"


def _dtype(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")
