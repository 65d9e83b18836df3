"""The two-stage restoration baselines: restore the raster with the latent inverse-problem sampler, then
vectorise the restored image, with our vectoriser (method two-stage: same SVG settings, same total number of
steps) or with vtracer (method trace)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable


def run_two_stage(cfg, run_config: Callable, log=print) -> Path:
    """``run_config`` runs one stage (the runner's, passed in so that this module does not import it back)."""
    from .registry import build_stage_config

    out = Path(cfg.run.out)
    first = max(1, cfg.run.steps // 2)
    run = {"seed": cfg.run.seed, "progress": cfg.run.progress, "snapshot_every": cfg.run.snapshot_every,
           "checkpoint_every": cfg.run.checkpoint_every, "overwrite": cfg.run.overwrite}
    restore = build_stage_config("restore", {
        "image": cfg.image, "degradation": cfg.degradation, "mask": cfg.mask, "prompts": list(cfg.prompts),
        "height": cfg.height, "width": cfg.width, "blur_sigma": cfg.blur_sigma, "noise_sigma": cfg.noise_sigma,
        "prior": asdict(cfg.prior), "run": {**run, "steps": first, "out": str(out / "stage1-restore")}})
    stage1 = run_config("restore", restore, log)
    vectorize = build_stage_config("vectorize", {
        "image": str(stage1 / "result.png"), "svg": asdict(cfg.svg), "method": "trace" if cfg.method == "trace" else "fit",
        "output_size": cfg.output_size, "video_every": cfg.video_every,
        "run": {**run, "steps": max(1, cfg.run.steps - first), "out": str(out)}})
    return run_config("vectorize", vectorize, log)
