"""What the prior-based benchmark scripts share: the --threads / --model flags and loading the prior."""

from __future__ import annotations

import argparse

import torch

from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
from dreamsampler3d.priors.embedded import ICONS, resolve_model
from dreamsampler3d.tasks.runner import quiet_libraries


def add_prior_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="embedded", help="diffusers folder, hub id, or 'embedded'")


def load_prior(args: argparse.Namespace, embedded: str = ICONS) -> DiffusionPrior:
    """The prior --model names; 'embedded' is the embedded prior `embedded` (an assets/ folder name)."""
    torch.set_num_threads(args.threads)
    quiet_libraries()
    return DiffusionPrior.from_pretrained(resolve_model(args.model, embedded))
