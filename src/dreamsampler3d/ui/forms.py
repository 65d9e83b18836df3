"""A page's form values -> a validated run config, the same one the CLI builds from its flags.

Uploads are copied (size- and pixel-limited, the pixels counted from the file's header) into the run's own
folder, ``<out>/inputs/``, so the run folder holds everything the shown command line needs, and the command keeps
working after the server's temporary files are gone. Masks painted in the browser become white-on-black PNGs
there, one per layer. Only uploads and the form's own values reach a run: a key=value line naming a file or
folder of the server (an input, the output, a checkpoint, the model) is refused, so the page cannot be made to
read (and offer for download) a file the user could not upload."""

from __future__ import annotations

import itertools
import shutil
import time
import warnings
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from PIL import Image

from ..errors import UserError

MAX_UPLOAD_MB = 20  # per file; the server refuses larger uploads too (launch(max_file_size=...))
_serial = itertools.count(1)
HUGE = 2**31 - 1  # the side of an image PIL itself refused to open (over twice PIL's own limit)


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


def header_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from the file's header alone: PIL's open is lazy and decodes no pixel, so a 46 KB PNG
    claiming 13000x13000 costs nothing here. None when PIL does not recognise the file (the run's loader then
    says why, in the CLI's words); PIL's own bomb error (over twice its limit) counts as huge."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return img.size
    except Image.DecompressionBombError:
        return (HUGE, HUGE)  # its size unread: more than any limit
    except (OSError, ValueError, SyntaxError, EOFError):
        return None


def check_pixels(path: str | Path, what: str, limit: int) -> None:
    """Refuse an image over ``limit`` pixels before anything decodes it (the decoded copy would need
    gigabytes)."""
    size = header_size(path)
    if size is None or size[0] * size[1] <= limit:
        return
    counted = "" if size[0] == HUGE else f"{size[0]}x{size[1]} is {size[0] * size[1]:,} pixels, "
    raise UserError(f"{what}: {counted}more than the limit of {limit:,} pixels (refused before decoding)")


def max_image_pixels() -> int:
    """The tool's pixel limit, the one the CLI's image loader applies (worker side: io.images imports torch)."""
    from ..io.images import MAX_IMAGE_PIXELS

    return MAX_IMAGE_PIXELS


def copy_upload(path: str | Path, folder: Path, role: str) -> str:
    """The upload copied into ``folder`` as ``<role>-<its name>`` (an image and a mask both called a.png must
    not overwrite each other), byte for byte: the run reads it with the CLI's loader (16-bit scaled, alpha on
    white), so the page and the command line see the same pixels. Images over the pixel limit are refused from
    their header."""
    name = Path(path).name
    check_size(path, f"upload {name}")
    if role != "svg":
        check_pixels(path, f"upload {name}", max_image_pixels())
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
    """An ImageEditor value {'background', 'layers', 'composite'} -> (image file, mask files) in ``folder``.
    The background is saved as the browser sent it, alpha included: the run reads it with the CLI's loader,
    which puts transparency on white (dropping the alpha here would turn it black, as the canvas stores black
    under alpha 0)."""
    if not value or value.get("background") is None:
        return None, []
    folder.mkdir(parents=True, exist_ok=True)
    background = Image.fromarray(np.asarray(value["background"]))
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


# Config keys naming a file or folder of the server, besides the tasks' file inputs: only the form sets them (the
# run folder it makes, the model box); a key=value line may not. Any key ending in one of PATH_SUFFIXES counts too,
# so a file-valued key a task adds later is refused without a change here.
SERVER_PATHS = {"run.out": "the page makes each run's folder under the server's --out",
                "run.resume": "continue a run from the command line (a cancelled run's page prints the command)",
                "prior.model": "use the model box",
                "config": "give its keys here, one a line"}
FILE_INPUTS = ("image", "mask", "masks", "svg")  # registry input kinds that are files: the form uploads them
PATH_SUFFIXES = ("_file", "_path", "_dir", "_folder", "_ckpt")


def path_keys() -> set[str]:
    """The dotted config keys that name server files: the tasks' file inputs (tasks/registry.INPUTS) and
    SERVER_PATHS."""
    from ..tasks.registry import INPUTS  # the worker process's side

    return {INPUTS[kind] for kind in FILE_INPUTS} | set(SERVER_PATHS)


def override_keys(line: str) -> list[str]:
    """The dotted keys a key=value line sets, as OmegaConf (the CLI's parser) reads it: ``run={out: x}`` sets
    ``run.out``, `` image =x`` is ``image``. A line OmegaConf cannot parse gives its text before '='."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        parsed = OmegaConf.to_container(OmegaConf.from_dotlist([line]), resolve=False)
    except (OmegaConfBaseException, ValueError):
        return [".".join(part.strip() for part in line.split("=", 1)[0].split("."))]
    return list(_leaves(parsed))


def _leaves(node: Any, prefix: str = "") -> Iterator[str]:
    """The dotted keys of a parsed line's leaves (a list or a value is a leaf), each part stripped."""
    if isinstance(node, dict) and node:
        for key, value in node.items():
            yield from _leaves(value, f"{prefix}{str(key).strip()}.")
    else:
        yield prefix[:-1]


def names_server_path(key: str, keys: set[str]) -> str | None:
    """The path key ``key`` sets (itself, a part of it, or the node holding it: ``run`` holds ``run.out``)."""
    for path in keys:
        if key == path or key.startswith(path + ".") or path.startswith(key + "."):
            return path
    last = key.rsplit(".", 1)[-1]
    return key if last.endswith(PATH_SUFFIXES) else None


def refuse_server_paths(overrides: list[str]) -> None:
    """A key=value line may not name a file or folder of the server: the page would read it (an image copied to
    the run's input.png, offered for download) for a user who could only have uploaded it."""
    keys = path_keys()
    for line in overrides:
        for key in override_keys(line):
            path = names_server_path(key, keys)
            if path is not None:
                hint = SERVER_PATHS.get(path, "upload the file with the form instead")
                raise UserError(f"{line!r}: {path} names a file or folder on the server, which the web interface "
                                f"does not read; {hint}")


def refuse_interpolations(values: dict[str, Any], overrides: list[str]) -> None:
    """No ``${...}`` in any text of the page: OmegaConf would resolve it when the config is built, and
    ``${oc.env:NAME}`` reads the server's environment (a token, say) into the run's config.yaml."""
    texts = [*overrides, *(v for v in values.values() if isinstance(v, str)),
             *(x for v in values.values() if isinstance(v, list) for x in v if isinstance(x, str))]
    for text in texts:
        if "${" in text:
            raise UserError(f"{text.strip()!r}: ${{...}} interpolations are not allowed in the web interface "
                            "(they would read the server's environment)")


def build_run(task: str, values: dict[str, Any], root: Path) -> Any:
    """The validated config of one run from the page's values: input kinds by their registry names
    (``prompt``, ``prompts``, ``image``, ``mask``, ``masks``, ``svg``, ``degradation``, ``method``), ``model``,
    dotted config keys, and ``overrides`` (key=value lines, as on the command line; none may name a server
    path)."""
    from ..config import build_config  # torch: the worker process's side

    overrides = lines(values.get("overrides"))
    refuse_server_paths(overrides)
    refuse_interpolations(values, overrides)
    out = new_run_folder(root, task)
    try:
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
