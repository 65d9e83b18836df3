"""What every task's config holds besides its own options: the prior and the run. Task modules build their
config dataclass on ``Common`` (``class MyConfig(Common, MyOptions)``) without importing ``config.py``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .priors.embedded import EMBEDDED


def to_yaml(cfg) -> str:
    """A config dataclass as YAML (what config.yaml holds, and what a run's fingerprint hashes)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.structured(cfg))


@dataclass
class PriorConfig:
    model: str = EMBEDDED  # a diffusers folder, a hub id, or 'embedded'
    dtype: str = "auto"  # auto (fp32 on CPU, fp16 on CUDA), fp32, fp16, bf16
    device: str = "auto"
    negative_prompt: str = ""


@dataclass
class RunConfig:
    steps: int = 50
    seed: int = 0
    out: str = "outputs/run"
    snapshot_every: int = 10  # 0: no snapshots
    overwrite: bool = False  # --out may hold a previous run's files: replace them
    checkpoint_every: int = 10  # sampler steps between checkpoints (0: none)
    resume: Optional[str] = None
    progress: bool = True


@dataclass
class Common:
    prior: PriorConfig = field(default_factory=PriorConfig)
    run: RunConfig = field(default_factory=RunConfig)
