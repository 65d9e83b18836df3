"""Lightning callbacks: one progress bar over sampler steps, snapshots, and atomic resumable checkpoints."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback, ProgressBar
from tqdm.auto import tqdm

from ..io.files import atomic_file
from ..io.images import save_png


class StepProgressBar(ProgressBar):
    """'generate: 37%|███▋ | 37/100' instead of Lightning's one bar per (one-batch) epoch."""

    def __init__(self, description: str):
        super().__init__()
        self.description = description
        self._enabled = True
        self.bar = None

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    def on_train_start(self, trainer, pl_module) -> None:
        if self._enabled:
            self.bar = tqdm(total=trainer.max_epochs, initial=trainer.current_epoch, desc=self.description,
                            unit="step", dynamic_ncols=True)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def on_train_end(self, trainer, pl_module) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Snapshots(Callback):
    """snapshots/step_0010.png every ``every`` steps (0 disables)."""

    def __init__(self, folder: Path, every: int):
        self.folder, self.every = Path(folder), int(every)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        step = trainer.current_epoch + 1
        if self.every > 0 and (step % self.every == 0 or step == trainer.max_epochs):
            save_png(self.folder / f"step_{step:04d}.png", pl_module.render())


class AtomicCheckpoint(Callback):
    """checkpoints/last.ckpt after every ``every`` steps, written to a temporary file and renamed into place,
    so that a kill during the write leaves the previous checkpoint intact."""

    def __init__(self, folder: Path, every: int):
        self.folder, self.every = Path(folder), int(every)
        for stale in self.folder.glob(".last.ckpt.*.tmp*"):  # a kill during a write leaves its temporary
            stale.unlink(missing_ok=True)

    @property
    def last(self) -> Path:
        return self.folder / "last.ckpt"

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module) -> None:
        step = trainer.current_epoch + 1
        if self.every > 0 and step % self.every == 0 and step < trainer.max_epochs:
            atomic_file(self.last, trainer.save_checkpoint)
