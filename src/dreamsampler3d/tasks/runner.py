"""Run a task end to end: validate, load, sample under Lightning, write outputs atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.strategies import SingleDeviceStrategy
import torch

from ..config_base import to_yaml
from ..errors import UserError
from ..io.images import save_json, save_png, save_text
from ..priors.diffusion_prior import DiffusionPrior
from ..priors.embedded import config_prompts, domain_note, embedded_name, resolve_model
from .callbacks import AtomicCheckpoint, Snapshots, StepProgressBar
from .checkpoint_checks import check_for_run, check_header, read_checkpoint
from .prepare import build_task, read_inputs
from .registry import get


def indexed(device: torch.device) -> torch.device:
    """Lightning's CUDA set-up wants 'cuda:N', not a bare 'cuda'."""
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", torch.cuda.current_device())
    return device


def cpu_threads(processes: int = 1) -> int:
    """torch threads for each of ``processes`` local processes: torch's default (one per physical core) less one
    core left to the rest of the machine. With passive OpenMP waiting (set by the CLI) a thread per core was slower
    even idle (benchmarks/render_under_load.py)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(torch.get_num_threads(), cpus - 1) // max(1, processes))


def leave_a_core() -> None:
    """torch's threads: cpu_threads() (a core left to the rest of the machine), unless OMP_NUM_THREADS says
    otherwise. The CLI's runs and the UI's worker process both start here."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(cpu_threads())


def quiet_libraries() -> None:
    """Library chatter (download bars, Lightning tips) drowns the one progress bar that matters."""
    import diffusers
    import transformers

    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    warnings.filterwarnings("ignore", message=".*torch_dtype.*")


def fingerprint(cfg) -> str:
    """What makes two runs the same run: everything but where they write and whether they resume."""
    text = to_yaml(cfg)
    keep = [line for line in text.splitlines() if not line.strip().startswith(
        ("out:", "resume:", "progress:", "snapshot_every:", "checkpoint_every:", "overwrite:"))]
    return hashlib.sha256("\n".join(keep).encode()).hexdigest()[:16]


def _check_resume(path: str | None, expected: str, steps: int) -> dict | None:
    """Before the model loads: the checkpoint read without running code or allocating its tensors, and what needs
    no model checked (tasks/checkpoint_checks.py); the rest is checked in ``execute``."""
    if path is None:
        return None
    ckpt = read_checkpoint(path)
    check_header(ckpt, path, expected, steps)
    return ckpt


class _Checked(TorchCheckpointIO):
    """Hands Lightning the checkpoint that passed checkpoint_checks (read once: the file is not read again, so
    what was checked is what is loaded); saving is torch's."""

    def __init__(self, checkpoint: dict | None):
        super().__init__()
        self.checkpoint = checkpoint

    def load_checkpoint(self, path, map_location=None, weights_only=None) -> dict:
        if self.checkpoint is None:
            raise RuntimeError("the runner checks a checkpoint before Lightning loads it")
        checkpoint, self.checkpoint = self.checkpoint, None
        return checkpoint


class _Fingerprint(L.Callback):
    def __init__(self, value: str):
        self.value = value

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint["run_fingerprint"] = self.value


def run_config(task: str, cfg, log=print, callbacks: Sequence[L.Callback] = (), keep: Sequence[str] = ()) -> Path:
    """Execute a validated config; returns the output folder. ``callbacks``: extra Lightning callbacks for every
    stage's Trainer (the web UI's progress and cancel), after the runner's own. ``keep``: outputs in --out that
    replacing a previous run leaves in place (a two-stage run's first stage, written before its second)."""
    quiet_libraries()
    spec = get(task)
    out = Path(cfg.run.out)
    replacing = check_out(out, resuming=cfg.run.resume is not None, overwrite=cfg.run.overwrite)
    if spec.run is not None:  # a run of the task's own (several stages), or None: the usual one
        stage = partial(run_config, callbacks=callbacks, keep=(*keep, "stage1-restore"))
        done = spec.run(cfg, stage, log)
        if done is not None:
            return done
    image, notes = read_inputs(task, cfg)
    for note in notes:
        log(f"note: {note}")
    fp = fingerprint(cfg)
    checkpoint = _check_resume(cfg.run.resume, fp, cfg.run.steps)
    folder = working_folder(out, cfg.run.resume, replacing)
    if folder != out and cfg.run.resume is None:
        log(f"note: {out} keeps the previous run's files until this run completes; until then it writes into "
            f"{folder} (if it is stopped, resume it with --resume {folder / 'checkpoints' / 'last.ckpt'})")
    prior = None  # build_task seeds the global generators from run.seed
    if spec.needs_prior:
        prior = DiffusionPrior.from_pretrained(resolve_model(cfg.prior.model, spec.prior), cfg.prior.dtype,
                                               cfg.prior.device)
        name = embedded_name(cfg.prior.model, spec.prior)
        note = domain_note(config_prompts(cfg), name) if name else None
        if note:
            log(note)
    module, inputs, task_metrics = build_task(task, cfg, prior, image)
    for note in inputs.notes:
        log(f"note: {note}")
    return execute(task, cfg, module, inputs, task_metrics, fp, callbacks, checkpoint=checkpoint, folder=folder,
                   keep=keep)


# What a run writes into --out: with --overwrite these (and only these) are replaced, once the new run is complete.
OUTPUTS = ("result.png", "result.svg", "metrics.json", "config.yaml", "input.png", "sample.png", "optimisation.mp4",
           "optimisation.gif", "orbit.mp4", "orbit.gif", "mesh.glb", "mesh.obj", "mesh.ply", "snapshots",
           "checkpoints", "stage1-restore")
STAGING = ".overwrite"  # inside --out: where an --overwrite run writes until it is complete


def check_out(out: Path, resuming: bool, overwrite: bool) -> bool:
    """Before the model loads: --out must be a folder we can create, and not hold another run's files (a
    failed run would leave its config.yaml beside the old result.png) unless resuming or --overwrite. Returns
    whether the run replaces a previous run's files (--overwrite); it removes nothing."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot be created ({parent} is not a writable folder)")
    if parent != out:  # os.access says yes to root anywhere, yet /proc or a read-only mount take no folder: try one
        try:
            os.rmdir(tempfile.mkdtemp(prefix=".dreamsampler3d-probe-", dir=parent))
        except OSError as exc:
            raise UserError(f"--out {out}: cannot be created ({parent} takes no new folder: {exc.strerror})") from None
    ours = [out / name for name in OUTPUTS if (out / name).exists()] if out.is_dir() and not resuming else []
    if not any(p.name != "stage1-restore" for p in ours):  # a two-stage run's first stage is its own
        return False
    if not overwrite:
        raise UserError(f"--out {out}: holds a previous run's files; choose another folder, resume it with "
                        "--resume, or pass --overwrite")
    return True


def working_folder(out: Path, resume: str | None, replacing: bool) -> Path:
    """Where the run writes: --out itself, or --out/.overwrite when it replaces a previous run (the old files stay
    until the new ones are complete, then ``swap_in`` replaces them) or resumes such a run from its checkpoint."""
    staging = out / STAGING
    if resume is not None:
        try:
            inside = Path(resume).resolve().is_relative_to(staging.resolve())
        except OSError:
            inside = False
        return staging if inside else out
    return staging if replacing else out


def swap_in(staging: Path, out: Path, keep: Sequence[str] = ()) -> None:
    """A complete run's files from ``staging`` into ``out``: each replaces its old namesake (a file by a rename, so
    readers see the old or the new), the previous run's other outputs go (but ``keep``), result.png comes last."""
    import shutil

    new = sorted((p.name for p in staging.iterdir()), key=lambda name: name == "result.png")
    trash = Path(tempfile.mkdtemp(dir=out, prefix=".replaced-"))
    try:
        for name in OUTPUTS:
            if name not in new and name not in keep and (out / name).exists():
                os.replace(out / name, trash / name)
        for name in new:
            target = out / name
            if target.exists() and (target.is_dir() or (staging / name).is_dir()) and not target.is_symlink():
                os.replace(target, trash / name)  # a folder cannot be renamed over a non-empty one
            os.replace(staging / name, target)
        staging.rmdir()
    finally:
        shutil.rmtree(trash, ignore_errors=True)


def make_trainer(device: torch.device, steps: int, callbacks: list[Any], root: Path, progress: bool,
                 checkpoint_io: TorchCheckpointIO | None = None) -> L.Trainer:
    """One epoch per sampler step on one device: explicit, so runs inside a DDP-launched batch stay local."""
    device = indexed(device)
    return L.Trainer(
        accelerator="cuda" if device.type == "cuda" else "cpu",
        strategy=SingleDeviceStrategy(device, checkpoint_io=checkpoint_io),
        max_epochs=steps, logger=False, enable_checkpointing=False, enable_model_summary=False,
        enable_progress_bar=progress, num_sanity_val_steps=0, callbacks=callbacks, default_root_dir=str(root),
        log_every_n_steps=1,
    )


def execute(task: str, cfg, module, inputs, task_metrics, fp: str = "", callbacks: Sequence[L.Callback] = (),
            checkpoint: dict | None = None, folder: Path | None = None, keep: Sequence[str] = ()) -> Path:
    """Sample under a Lightning Trainer and write config.yaml, snapshots, result.png and metrics.json into
    ``folder`` (default: --out; a staging folder is swapped into --out once complete). With --resume, the
    checkpoint (``checkpoint``: read and header-checked by the caller) is checked against this run's module before
    anything is written."""
    out = Path(cfg.run.out)
    work = Path(folder) if folder is not None else out
    resume = cfg.run.resume
    if resume is not None and checkpoint is None:
        checkpoint = _check_resume(resume, fp, cfg.run.steps)
    # the snapshot of a step before its checkpoint: a kill between the two leaves the older checkpoint, and the
    # resumed run writes that snapshot again
    own: list[Any] = [Snapshots(work / "snapshots", cfg.run.snapshot_every),
                      AtomicCheckpoint(work / "checkpoints", cfg.run.checkpoint_every), _Fingerprint(fp)]
    if cfg.run.progress:
        own.append(StepProgressBar(task))
    io = _Checked(None)
    trainer = make_trainer(module.run_device, cfg.run.steps, [*own, *callbacks], work, cfg.run.progress, io)
    if checkpoint is not None:
        io.checkpoint = check_for_run(checkpoint, resume, module, trainer)
        checkpoint = None  # the file's mapping goes with it
    if work != out and resume is None:
        import shutil

        shutil.rmtree(work, ignore_errors=True)  # a stopped earlier attempt at replacing --out: start afresh
    work.mkdir(parents=True, exist_ok=True)
    save_text(work / "config.yaml", to_yaml(cfg))
    if inputs.image is not None:
        save_png(work / "input.png", inputs.image)
    start = time.perf_counter()
    try:
        trainer.fit(module, ckpt_path=resume, weights_only=True)
    except SystemExit:  # Lightning answers Ctrl-C with its own message and exit(1): ours is one line and 130
        if trainer.interrupted:
            raise KeyboardInterrupt from None
        raise
    if not module.finished:
        raise RuntimeError("the run stopped before its last step")
    with torch.no_grad():
        result = module.render()
        full = module.full_result(result)
    seconds = time.perf_counter() - start
    save_png(work / "result.png", full)
    exported = module.export(work)
    metrics = {
        "task": task,
        "steps": cfg.run.steps,
        "seconds": round(seconds, 3),
        "seconds_per_step": round(sum(module.step_seconds) / max(len(module.step_seconds), 1), 5),
        "resumed_from": resume,
        "resumed_at_step": module.resumed_at,  # the checkpoint's step; 0 unless --resume
        "steps_run": len(module.step_seconds),  # steps this process ran
        "device": str(indexed(module.run_device)),
        "model": cfg.prior.model if module.prior is not None else None,
        "result_size": [int(full.shape[-1]), int(full.shape[-2])],  # width, height of result.png
        **task_metrics(result),
        **exported,
    }
    save_json(work / "metrics.json", metrics)
    if work != out:
        swap_in(work, out, keep)
    return out
