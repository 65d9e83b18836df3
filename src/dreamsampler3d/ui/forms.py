"""A page's form values -> a validated run config, the same one the CLI builds from its flags.

Uploads are copied (size-limited) into the run's own folder, ``<out>/inputs/``, so the run folder holds
everything the shown command line needs, and the command keeps working after the server's temporary files
are gone. Masks painted in the browser become white-on-black PNGs there, one per layer."""

from __future__ import annotations

import itertools
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import UserError

MAX_UPLOAD_MB = 20  # per file; the server refuses larger uploads too (launch(max_file_size=...))
_serial = itertools.count(1)


def new_run_folder(root: Path, task: str) -> Path:
    """<root>/<task>-<date>-<time>-<n>: distinct for every run of this process, readable, sorted by time."""
    while True:
        folder = Path(root) / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}-{next(_serial)}"
        if not folder.exists():
            return folder.resolve()


def check_size(path: str | Path, what: str) -> None:
    size = Path(path).stat().st_size
    if size > MAX_UPLOAD_MB * 1024 * 1024:
        raise UserError(f"{what}: {size / 1024 / 1024:.1f} MB, more than the {MAX_UPLOAD_MB} MB upload limit")


def copy_upload(path: str | Path, folder: Path, role: str) -> str:
    """The upload copied into ``folder`` as ``<role>-<its name>`` (an image and a mask both called a.png must
    not overwrite each other)."""
    name = Path(path).name
    check_size(path, f"upload {name}")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{role}-{name}"
    shutil.copyfile(path, target)
    return str(target)


def painted_masks(layers: list[Any], size: tuple[int, int]) -> list[np.ndarray]:
    """Editor layers (RGBA, painted strokes opaque) -> masks (uint8, 255 = fill), empty layers skipped."""
    masks = []
    for layer in layers or []:
        if layer is None:
            continue
        rgba = np.asarray(Image.fromarray(np.asarray(layer)).convert("RGBA").resize(size, Image.NEAREST))
        mask = (rgba[..., 3] > 0).astype(np.uint8) * 255
        if mask.any():
            masks.append(mask)
    return masks


def editor_inputs(value: dict | None, folder: Path) -> tuple[str | None, list[str]]:
    """An ImageEditor value {'background', 'layers', 'composite'} -> (image file, mask files) in ``folder``."""
    if not value or value.get("background") is None:
        return None, []
    folder.mkdir(parents=True, exist_ok=True)
    background = Image.fromarray(np.asarray(value["background"])).convert("RGB")
    image = folder / "image.png"
    background.save(image)
    masks = []
    for k, mask in enumerate(painted_masks(value.get("layers") or [], background.size), 1):
        path = folder / f"mask-{k}.png"
        Image.fromarray(mask).save(path)
        masks.append(str(path))
    return str(image), masks


def nest(dotted: dict[str, Any]) -> dict[str, Any]:
    """{'run.steps': 3} -> {'run': {'steps': 3}} (explicit flags, merged last over the config)."""
    out: dict[str, Any] = {}
    for key, value in dotted.items():
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def build_run(task: str, values: dict[str, Any], root: Path) -> Any:
    """The validated config of one run from the page's values: input kinds by their registry names
    (``prompt``, ``prompts``, ``image``, ``mask``, ``masks``, ``svg``, ``degradation``, ``method``), ``model``,
    dotted config keys, and ``overrides`` (key=value lines, as on the command line)."""
    from ..config import build_config  # torch: the worker process's side

    out = new_run_folder(root, task)
    try:
        overrides = lines(values.get("overrides"))
        flags = _flags(values, out / "inputs", {o.split("=", 1)[0].strip() for o in overrides})
        flags["run.out"] = str(out)
        flags["run.progress"] = False  # the page shows the progress; no bar in the server's terminal
        return build_config(task, None, overrides, nest(flags))
    except UserError:
        shutil.rmtree(out, ignore_errors=True)  # ours (new_run_folder): only copied uploads are in it
        raise


def _flags(values: dict[str, Any], inputs: Path, typed: set[str]) -> dict[str, Any]:
    """Dotted flags from the values; uploads copied into ``inputs``; keys in ``typed`` (given as key=value
    lines) are left to those lines."""
    flags: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or value == "" or value == [] or key == "overrides" or key in typed:
            continue
        if key == "model":
            flags["prior.model"] = value.strip()
        elif key == "prompt":
            flags["prompt"] = value.strip()
        elif key == "prompts":
            flags["prompts"] = lines(value)
        elif key == "image" and isinstance(value, dict):  # the mask editor: the image and its painted masks
            image, masks = editor_inputs(value, inputs)
            if image:
                flags["image"] = image
                flags["masks"] = masks + flags.get("masks", [])
        elif key in ("image", "mask"):
            flags[key] = copy_upload(value, inputs, key)
        elif key == "masks":  # uploaded mask files, after the painted ones
            flags["masks"] = flags.get("masks", []) + [copy_upload(v, inputs, "mask") for v in value]
        elif key == "svg":
            flags["svg_file"] = copy_upload(value, inputs, "svg")
        else:  # degradation, method, and the dotted config keys of the page's option widgets
            flags[key] = value
    return flags
