"""Shared fixtures: tiny random-weight pipelines of each family, built once per session (no downloads)."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", max(1, min(2, os.cpu_count() or 1)))))


@pytest.fixture(scope="session")
def tiny_pipes():
    from dreamsampler3d.priors.tiny import FAMILIES, build_tiny_pipeline

    return {family: build_tiny_pipeline(family, seed=0) for family in FAMILIES}


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory):
    """Tiny pipelines saved in diffusers layout, for the loader and the CLI."""
    from dreamsampler3d.priors.tiny import FAMILIES, save_tiny_pipeline

    root = tmp_path_factory.mktemp("models")
    return {family: str(save_tiny_pipeline(root / family, family, seed=0)) for family in FAMILIES}


@pytest.fixture(scope="session")
def sd1_prior(tiny_pipes):
    from dreamsampler3d.priors.diffusion_prior import DiffusionPrior

    return DiffusionPrior(tiny_pipes["sd1"])
