"""Run a task end to end: validate, load, sample under Lightning, write outputs atomically."""

from __future__ import annotations

import hashlib
import logging
import os
import time
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import lightning as L
from lightning.pytorch.strategies import SingleDeviceStrategy
import torch

from ..config_base import to_yaml
from ..errors import UserError
from ..io.images import save_json, save_png, save_text
from ..priors.diffusion_prior import DiffusionPrior
from ..priors.embedded import EMBEDDED, config_prompts, domain_note, resolve_model
from .callbacks import AtomicCheckpoint, Snapshots, StepProgressBar
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


def _check_resume(path: str | None, expected: str) -> None:
    if path is None:
        return
    if not Path(path).is_file():
        raise UserError(f"--resume {path}: no such checkpoint")
    try:  # tensors and plain containers only: a checkpoint from elsewhere must not run code when read
        with warnings.catch_warnings():  # torch's note on a foreign pickle protocol would precede our one line
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"--resume {path}: not a readable checkpoint of this tool (only tensors and plain values "
                        f"are read; {type(exc).__name__})") from None
    if not isinstance(ckpt, dict):
        raise UserError(f"--resume {path}: not a checkpoint of this tool")
    if ckpt.get("run_fingerprint") != expected:
        raise UserError(f"--resume {path}: the checkpoint belongs to a run with a different configuration")


class _Fingerprint(L.Callback):
    def __init__(self, value: str):
        self.value = value

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict) -> None:
        checkpoint["run_fingerprint"] = self.value


def run_config(task: str, cfg, log=print, callbacks: Sequence[L.Callback] = ()) -> Path:
    """Execute a validated config; returns the output folder. ``callbacks``: extra Lightning callbacks for every
    stage's Trainer (the web UI's progress and cancel), after the runner's own."""
    quiet_libraries()
    spec = get(task)
    check_out(Path(cfg.run.out), resuming=cfg.run.resume is not None, overwrite=cfg.run.overwrite)
    if spec.run is not None:  # a run of the task's own (several stages), or None: the usual one
        out = spec.run(cfg, partial(run_config, callbacks=callbacks) if callbacks else run_config, log)
        if out is not None:
            return out
    image, notes = read_inputs(task, cfg)
    for note in notes:
        log(f"note: {note}")
    fp = fingerprint(cfg)
    _check_resume(cfg.run.resume, fp)
    L.seed_everything(cfg.run.seed, verbose=False)
    prior = None
    if spec.needs_prior:
        prior = DiffusionPrior.from_pretrained(resolve_model(cfg.prior.model), cfg.prior.dtype, cfg.prior.device)
        note = domain_note(config_prompts(cfg)) if cfg.prior.model == EMBEDDED else None
        if note:
            log(note)
    module, inputs, task_metrics = build_task(task, cfg, prior, image)
    for note in inputs.notes:
        log(f"note: {note}")
    return execute(task, cfg, module, inputs, task_metrics, fp, callbacks)


# What a run writes into --out: with --overwrite these (and only these) are removed first.
OUTPUTS = ("result.png", "result.svg", "metrics.json", "config.yaml", "input.png", "sample.png", "optimisation.mp4",
           "optimisation.gif", "orbit.mp4", "orbit.gif", "mesh.glb", "mesh.obj", "mesh.ply", "snapshots",
           "checkpoints", "stage1-restore")


def check_out(out: Path, resuming: bool, overwrite: bool) -> None:
    """Before the model loads: --out must be a folder we can create, and not hold another run's files (a
    failed run would leave its config.yaml beside the old result.png) unless resuming or --overwrite."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    parent = out
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot be created ({parent} is not a writable folder)")
    ours = [out / name for name in OUTPUTS if (out / name).exists()] if out.is_dir() and not resuming else []
    if not any(p.name != "stage1-restore" for p in ours):  # a two-stage run's first stage is its own
        return
    if not overwrite:
        raise UserError(f"--out {out}: holds a previous run's files; choose another folder, resume it with "
                        "--resume, or pass --overwrite")
    import shutil

    for path in ours:
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def make_trainer(device: torch.device, steps: int, callbacks: list[Any], root: Path, progress: bool) -> L.Trainer:
    """One epoch per sampler step on one device: explicit, so runs inside a DDP-launched batch stay local."""
    device = indexed(device)
    return L.Trainer(
        accelerator="cuda" if device.type == "cuda" else "cpu", strategy=SingleDeviceStrategy(device),
        max_epochs=steps, logger=False, enable_checkpointing=False, enable_model_summary=False,
        enable_progress_bar=progress, num_sanity_val_steps=0, callbacks=callbacks, default_root_dir=str(root),
        log_every_n_steps=1,
    )


def execute(task: str, cfg, module, inputs, task_metrics, fp: str = "", callbacks: Sequence[L.Callback] = ()) -> Path:
    """Sample under a Lightning Trainer and write config.yaml, snapshots, result.png and metrics.json."""
    out = Path(cfg.run.out)
    out.mkdir(parents=True, exist_ok=True)
    save_text(out / "config.yaml", to_yaml(cfg))
    if inputs.image is not None:
        save_png(out / "input.png", inputs.image)
    checkpoint = AtomicCheckpoint(out / "checkpoints", cfg.run.checkpoint_every)
    own: list[Any] = [checkpoint, Snapshots(out / "snapshots", cfg.run.snapshot_every), _Fingerprint(fp)]
    if cfg.run.progress:
        own.append(StepProgressBar(task))
    trainer = make_trainer(module.run_device, cfg.run.steps, [*own, *callbacks], out, cfg.run.progress)
    start = time.perf_counter()
    try:
        trainer.fit(module, ckpt_path=cfg.run.resume, weights_only=True)
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
    save_png(out / "result.png", full)
    exported = module.export(out)
    metrics = {
        "task": task,
        "steps": cfg.run.steps,
        "seconds": round(seconds, 3),
        "seconds_per_step": round(sum(module.step_seconds) / max(len(module.step_seconds), 1), 5),
        "resumed_from": cfg.run.resume,
        "resumed_at_step": module.resumed_at,  # the checkpoint's step; 0 unless --resume
        "steps_run": len(module.step_seconds),  # steps this process ran
        "device": str(indexed(module.run_device)),
        "model": cfg.prior.model if module.prior is not None else None,
        "result_size": [int(full.shape[-1]), int(full.shape[-2])],  # width, height of result.png
        **task_metrics(result),
        **exported,
    }
    save_json(out / "metrics.json", metrics)
    return out
