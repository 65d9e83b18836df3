"""Find and load a Stable-Diffusion-family diffusers pipeline from a local folder or a hub id, offline first."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import torch
import warnings

from ..errors import UserError

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_REQUIRED = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_pipeline_folder(folder: Path, name: str) -> dict:
    """Reject folders that are not diffusers Stable-Diffusion-family pipelines before loading anything."""
    if not folder.is_dir():
        raise UserError(f"--model {name}: not a folder")
    index = folder / "model_index.json"
    if not index.is_file():
        raise UserError(f"--model {name}: not a diffusers pipeline folder (no model_index.json)")
    try:
        spec = json.loads(index.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"--model {name}: unreadable model_index.json ({_first_line(exc)})") from None
    missing = [key for key in _REQUIRED if not spec.get(key) or spec[key][0] is None]
    if missing:
        raise UserError(
            f"--model {name}: not a Stable-Diffusion-family pipeline (missing {', '.join(missing)})"
        )
    return spec


def _from_folder(folder: Path, name: str, dtype: torch.dtype):
    from diffusers import DiffusionPipeline

    spec = check_pipeline_folder(folder, name)
    extra = {}
    if "safety_checker" in spec:  # never load (or require) the NSFW checker: we do not use it
        extra = {"safety_checker": None, "requires_safety_checker": False}
    try:
        return DiffusionPipeline.from_pretrained(folder, torch_dtype=dtype, local_files_only=True, **extra)
    except Exception as exc:  # diffusers raises many types for broken folders
        raise UserError(f"--model {name}: could not load the pipeline ({_first_line(exc)})") from None


def _from_hub(model_id: str, dtype: torch.dtype):
    from diffusers import DiffusionPipeline

    try:  # the local cache first: works offline when the model was downloaded before
        return DiffusionPipeline.from_pretrained(model_id, torch_dtype=dtype, local_files_only=True)
    except Exception:
        pass
    if _offline():
        raise UserError(
            f"--model {model_id}: no such folder, and as a hub id it is not in the local cache while offline "
            "(HF_HUB_OFFLINE=1); download it where there is network, or pass a local folder"
        )
    try:
        return DiffusionPipeline.from_pretrained(model_id, torch_dtype=dtype)
    except Exception as exc:
        raise UserError(
            f"--model {model_id}: no such folder, and fetching it as a hub id failed ({_first_line(exc)}); "
            "pass a local folder"
        ) from None


def load_pipeline(model: str | os.PathLike, dtype: torch.dtype = torch.float32):
    """A local folder wins over a hub id of the same spelling."""
    warnings.filterwarnings("ignore", message=".*torch_dtype.*deprecated", category=FutureWarning)
    name = str(model)
    folder = Path(name).expanduser()
    if folder.exists():
        return _from_folder(folder, name, dtype)
    if _HUB_ID.match(name) and not name.startswith("."):
        pipe = _from_hub(name, dtype)
        for key in _REQUIRED:
            if getattr(pipe, key, None) is None:
                raise UserError(f"--model {name}: not a Stable-Diffusion-family pipeline (missing {key})")
        return pipe
    raise UserError(f"--model {name}: no such folder (and not a hub id of the form org/name)")
