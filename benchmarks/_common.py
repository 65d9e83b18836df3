"""What the prior-based benchmark scripts share: the --threads / --model flags and loading the prior."""

from __future__ import annotations

import argparse

import torch

from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
from dreamsampler3d.priors.embedded import resolve_model
from dreamsampler3d.tasks.runner import quiet_libraries


def add_prior_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default="embedded", help="diffusers folder, hub id, or 'embedded'")


def load_prior(args: argparse.Namespace) -> DiffusionPrior:
    torch.set_num_threads(args.threads)
    quiet_libraries()
    return DiffusionPrior.from_pretrained(resolve_model(args.model))
