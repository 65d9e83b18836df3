"""SamplingTask: a per-asset sampling / optimisation loop as a LightningModule.

One Lightning epoch is one sampler step. End-of-epoch checkpoints are Lightning's clean resume points, so a
run killed at any moment resumes from its last finished step and gives the same bytes as an uninterrupted
run. The prior is held outside the module's state_dict: checkpoints carry only the trajectory state.
"""

from __future__ import annotations

import time
from pathlib import Path
from abc import abstractmethod
from typing import Any

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset


class _OneItem(Dataset):
    def __len__(self) -> int:
        return 1

    def __getitem__(self, index: int) -> int:
        return index


class SamplingTask(L.LightningModule):
    """Subclasses define ``initial_state``, ``advance`` and ``render``; state is a dict of tensors."""

    def __init__(self, prior: Any, num_steps: int, seed: int):
        super().__init__()
        self.automatic_optimization = False
        self.prior = prior  # a plain object: not a submodule, not checkpointed
        self.num_steps = int(num_steps)
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)  # CPU draws: same noise on any device
        self.state: dict[str, Tensor] = {}
        self.step_seconds: list[float] = []
        self.resumed_at = 0  # the step a --resume checkpoint was taken at
        self.last_logs: dict[str, float] = {}

    # ------------------------------------------------------------------ subclass API
    @abstractmethod
    def initial_state(self) -> dict[str, Tensor]:
        """The state before step 0 (noise, an inverted image, ...)."""

    @abstractmethod
    def advance(self, i: int) -> dict[str, float] | None:
        """Perform sampler step i on ``self.state``; return scalars to log."""

    @abstractmethod
    def render(self) -> Tensor:
        """The current best image, [1, 3, H, W] in [-1, 1] (a snapshot mid-run, the result at the end)."""

    def full_result(self, result: Tensor) -> Tensor:
        """result.png from the working-size result [1, 3, h, w]: by default the same; tasks with an input image
        bring their change back to the input's own size (tasks/full_size.py)."""
        return result

    def export(self, out: Path) -> dict[str, Any]:
        """Extra outputs (videos, meshes) written after the result; returns entries for metrics.json."""
        return {}

    # ------------------------------------------------------------------ helpers
    @property
    def finished(self) -> bool:
        return int(self.state.get("done", torch.tensor(0))) >= self.num_steps

    @property
    def run_device(self) -> torch.device:
        """Where the run happens: the prior's device (CPU for prior-free tasks such as vectorize)."""
        return self.prior.device if self.prior is not None else torch.device("cpu")

    def randn(self, *shape: int) -> Tensor:
        return torch.randn(*shape, generator=self.generator).to(self.run_device)

    # ------------------------------------------------------------------ Lightning
    def train_dataloader(self) -> DataLoader:
        return DataLoader(_OneItem(), batch_size=None)

    def configure_optimizers(self):
        return None

    def on_fit_start(self) -> None:
        if self.prior is not None:
            self.prior.to(self.device)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        if not self.state:
            self.state = self.initial_state()
        start = time.perf_counter()
        self.last_logs = self.advance(self.current_epoch) or {}  # not self.log(): ~3 ms a call on CPU
        self.state["done"] = torch.tensor(self.current_epoch + 1)
        self.step_seconds.append(time.perf_counter() - start)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["sampler_state"] = {k: v.detach().cpu() for k, v in self.state.items()}
        checkpoint["sampler_rng"] = self.generator.get_state()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """``checkpoint`` has passed tasks/checkpoint_checks.py (``check_checkpoint`` below) before it gets here."""
        self.state = {k: v.to(self.run_device) for k, v in checkpoint["sampler_state"].items()}
        self.resumed_at = int(self.state["done"]) if "done" in self.state else 0
        self.generator.set_state(checkpoint["sampler_rng"])

    # ------------------------------------------------------------------ --resume: what this run writes
    def state_template(self) -> dict[str, Tensor]:
        """The tensors of ``state`` in this run's checkpoints (their dtypes and shapes): by default those of
        ``initial_state()``, computed on copies of the random generators (the run's own draws are untouched), and
        the step counter. Only a resume asks for it; a task whose start is costly may return the same shapes
        cheaply."""
        rng = self.generator.get_state()
        devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
        try:
            with torch.random.fork_rng(devices=devices), torch.no_grad():
                state = self.initial_state()
        finally:
            self.generator.set_state(rng)
        return {**{k: v.detach().cpu() for k, v in state.items()}, "done": torch.tensor(0)}

    def dynamic_state_keys(self) -> tuple[str, ...]:
        """State entries whose shape is not fixed by the run (``check_checkpoint`` of a subclass checks them)."""
        return ()

    def dynamic_parameter_prefixes(self) -> tuple[str, ...]:
        """state_dict keys of parameters built during the run (``check_checkpoint`` of a subclass checks them);
        every other parameter must match this module's own."""
        return ()

    def check_checkpoint(self, checkpoint: dict, check, done: int) -> None:
        """The task's own fields of a --resume checkpoint (``check``: a checkpoint_checks.Check), before any is
        used: ``sampler_state`` holds exactly the template's entries (plus the dynamic ones), each of its dtype and
        shape, finite and within bounds. ``done`` (1 .. steps - 1) and the RNG state are checked already."""
        state = check.mapping(checkpoint["sampler_state"], "sampler_state")
        template, dynamic = self.state_template(), self.dynamic_state_keys()
        for key in state:
            if key not in template and key not in dynamic:
                check.fail(f"sampler_state.{key}", "not a field this run writes")
        for key, like in template.items():
            if key == "done" or key in dynamic:
                continue
            if key not in state:
                check.fail(f"sampler_state.{key}", "missing")
            check.like(state[key], like, f"sampler_state.{key}")
