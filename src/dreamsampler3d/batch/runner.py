"""Run a batch: Lightning Fabric launches the processes (DDP: one per device, across nodes with the usual
MASTER_ADDR / NODE_RANK / torchrun variables), items are sharded by index, each item is written to a
temporary folder renamed into place, and a JSONL manifest records every outcome."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..config import build_config
from ..errors import UserError
from ..priors.diffusion_prior import DiffusionPrior
from ..priors.embedded import EMBEDDED, domain_note, embedded_name, resolve_model
from ..tasks.prepare import build_task
from ..tasks.registry import get, specs
from ..tasks.runner import cpu_threads, execute, quiet_libraries
from .items import Item, read_items
from .manifest import Manifest


def batch_tasks() -> list[str]:
    """The tasks whose spec says ``batch=True``."""
    return sorted(s.name for s in specs() if s.batch)


@dataclass
class BatchOptions:
    task: str
    prompts: str
    out: str
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    accelerator: str = "auto"
    config: str | None = None
    overrides: list[str] = field(default_factory=list)
    flags: dict = field(default_factory=dict)  # --model / --steps, merged into every item's config
    seed: int = 0
    threads: int = 0  # per process; 0: the cores less one, divided among this node's processes (runner.cpu_threads)
    progress: bool = True


def _item_config(opts: BatchOptions, item: Item, out: Path):
    """An item's own options win over the batch's flags (--steps, --model), which win over the config."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        own = OmegaConf.to_container(OmegaConf.merge(OmegaConf.create(opts.flags),
                                                     OmegaConf.from_dotlist(item.overrides())))
    except OmegaConfBaseException as exc:
        raise UserError(f"item options: {str(exc).splitlines()[0]}") from None
    flags = {**own, "prompt": item.prompt}
    flags["run"] = {**own.get("run", {}), "seed": item.seed, "out": str(out), "progress": False}
    return build_config(opts.task, opts.config, list(opts.overrides), flags)


def _check(opts: BatchOptions) -> list[Item]:
    """Everything that can be wrong with the command itself fails here, once, before any process starts."""
    if opts.task not in batch_tasks():
        raise UserError(f"--task must be one of {', '.join(batch_tasks())}, got {opts.task!r}")
    if opts.devices < 1 or opts.num_nodes < 1:
        raise UserError("--devices and --num-nodes must be >= 1")
    items = read_items(opts.prompts, opts.seed)
    _item_config(opts, items[0], Path(opts.out) / ".check")  # validates the config layers
    return items


class _Progress:
    """Rank 0's view of the whole batch, read from the manifest that every rank appends to."""

    def __init__(self, total: int, already: int, manifest: Manifest, run_id: str, enabled: bool):
        from tqdm.auto import tqdm

        self.manifest, self.run_id, self.already, self.start = manifest, run_id, already, time.time()
        self.bar = tqdm(total=total, initial=already, desc="batch", unit="item", disable=not enabled)

    def refresh(self) -> tuple[int, int]:
        latest = self.manifest.latest(self.run_id)
        done = sum(r["status"] == "done" for r in latest.values())
        failed = sum(r["status"] == "failed" for r in latest.values())
        self.bar.n = self.already + done + failed
        minutes = max(time.time() - self.start, 1e-6) / 60
        self.bar.set_postfix(done=self.already + done, failed=failed,
                             remaining=self.bar.total - self.bar.n, per_min=f"{(done + failed) / minutes:.1f}")
        self.bar.refresh()
        return done, failed

    def close(self) -> None:
        self.bar.close()


def run_batch(opts: BatchOptions, log=print) -> int:
    items = _check(opts)
    from lightning.fabric import Fabric

    strategy = opts.strategy
    if strategy == "auto" and opts.devices * opts.num_nodes > 1:
        strategy = "ddp"  # one process per device, launched by re-running this command
    fabric = Fabric(accelerator=opts.accelerator, devices=opts.devices, num_nodes=opts.num_nodes, strategy=strategy)
    fabric.launch()
    rank, world = fabric.global_rank, fabric.world_size
    quiet_libraries()
    local = max(1, opts.devices)
    torch.set_num_threads(opts.threads or cpu_threads(local))

    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(out / "manifest.jsonl")
    run_id = fabric.broadcast(uuid.uuid4().hex[:12] if rank == 0 else None, src=0)
    finished = {it.name for it in items if (out / it.name).is_dir()}
    mine = [it for it in items if it.index % world == rank and it.name not in finished]
    progress = _Progress(len(items), len(finished), manifest, run_id, opts.progress) if rank == 0 else None
    task_prior = get(opts.task).prior
    embedded = embedded_name(opts.flags.get("prior", {}).get("model", EMBEDDED), task_prior)
    if rank == 0 and embedded:
        note = domain_note([it.prompt for it in items], embedded)
        if note:
            log(note)
    if rank == 0 and finished:
        log(f"batch: {len(finished)} of {len(items)} items already done, skipped")

    prior = None
    for item in mine:
        partial = out / f".partial-{item.name}"
        shutil.rmtree(partial, ignore_errors=True)  # left by a killed run; only this rank owns this item
        start = time.perf_counter()
        record = {"run": run_id, "item": item.name, "index": item.index, "prompt": item.prompt, "seed": item.seed,
                  "rank": rank, "task": opts.task}
        try:
            cfg = _item_config(opts, item, partial)
            if prior is None:
                device = str(fabric.device)
                prior = DiffusionPrior.from_pretrained(resolve_model(cfg.prior.model, task_prior),
                                                       cfg.prior.dtype, device)
                base_model = cfg.prior.model
            if cfg.prior.model != base_model:
                raise UserError("per-item options may not change prior.model (one model per batch)")
            module, inputs, metrics = build_task(opts.task, cfg, prior, None)
            execute(opts.task, cfg, module, inputs, metrics)
            os.replace(partial, out / item.name)
            manifest.append({**record, "status": "done", "seconds": round(time.perf_counter() - start, 3),
                             "output": str(out / item.name)})
        except Exception as exc:  # one item's failure never stops the others
            shutil.rmtree(partial, ignore_errors=True)
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            manifest.append({**record, "status": "failed", "seconds": round(time.perf_counter() - start, 3),
                             "error": f"{type(exc).__name__}: {message}"})
        if progress is not None:
            progress.refresh()
    fabric.barrier()
    if progress is None:
        return 0
    done, failed = progress.refresh()
    progress.close()
    log(f"batch: {done} done, {failed} failed, {len(finished)} skipped; manifest {manifest.path}")
    return 1 if failed else 0
