"""The bridge between a run's Lightning Trainer and the page: step counts, a throttled preview of the current
render, and cancellation at the next step boundary (where a checkpoint may already be on disk, so a cancelled
run can be resumed from the command line)."""

from __future__ import annotations

import threading
import time
from typing import Callable

import lightning as L
import torch

from ..io.images import to_uint8
from .events import Progress


class RunCancelled(Exception):
    """Raised inside the Trainer when the user pressed Cancel; the run stops after the step in progress."""

    def __init__(self, step: int):
        super().__init__(f"cancelled after step {step}")
        self.step = step


class ProgressBridge(L.Callback):
    """Reports every step to ``report`` and renders ``pl_module.render()`` at most every ``preview_every``
    seconds (rendering a NeRF's views costs more than a step on a CPU); raises RunCancelled once ``cancel`` is
    set."""

    def __init__(self, report: Callable[[Progress], None], cancel: threading.Event, preview_every: float = 0.5):
        self.report, self.cancel, self.preview_every = report, cancel, preview_every
        self.stage = 0
        self._start = self._last_preview = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.stage += 1
        self._start = time.perf_counter()
        self._last_preview = 0.0
        if self.cancel.is_set():
            raise RunCancelled(trainer.current_epoch)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        step, total = trainer.current_epoch + 1, trainer.max_epochs
        now = time.perf_counter()
        preview = None
        if step == total or now - self._last_preview >= self.preview_every:
            with torch.no_grad():
                preview = to_uint8(pl_module.render())
            self._last_preview = time.perf_counter()
        self.report(Progress(step, total, self.stage, now - self._start, preview))
        if self.cancel.is_set() and step < total:
            raise RunCancelled(step)
