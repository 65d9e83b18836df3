"""Batch items from a prompt file: plain text (one prompt a line), CSV or JSONL with per-item seed/options."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError


@dataclass(frozen=True)
class Item:
    index: int
    prompt: str
    seed: int
    options: dict[str, Any] = field(default_factory=dict)  # dotted config keys -> values

    @property
    def name(self) -> str:
        """Output folder name: stable across runs, readable, unique by index."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.prompt.lower()).strip("-")[:48] or "item"
        return f"{self.index:05d}-{slug}"

    def overrides(self) -> list[str]:
        return [f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in self.options.items()]


def _row(index: int, data: dict[str, Any], base_seed: int, where: str) -> Item:
    data = {k: v for k, v in data.items() if v not in (None, "")}
    prompt = str(data.pop("prompt", "")).strip()
    if not prompt:
        raise UserError(f"{where}: no prompt")
    seed = data.pop("seed", base_seed + index)
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise UserError(f"{where}: seed {seed!r} is not an integer") from None
    options = data.pop("options", {}) or {}
    if not isinstance(options, dict):
        raise UserError(f"{where}: options must be an object of config keys")
    return Item(index, prompt, seed, {**data, **options})


def read_items(path: str | Path, base_seed: int = 0) -> list[Item]:
    """Seeds default to base_seed + index, so an item's output never depends on which process ran it."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--prompts {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--prompts {path}: unreadable ({type(exc).__name__})") from None
    items: list[Item] = []
    if path.suffix.lower() == ".jsonl":
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                raise UserError(f"--prompts {path}:{n}: not valid JSON") from None
            if not isinstance(data, dict):
                raise UserError(f"--prompts {path}:{n}: each line must be a JSON object")
            items.append(_row(len(items), data, base_seed, f"--prompts {path}:{n}"))
    elif path.suffix.lower() == ".csv":
        for n, data in enumerate(csv.DictReader(text.splitlines()), 2):
            items.append(_row(len(items), dict(data), base_seed, f"--prompts {path}:{n}"))
    else:
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                items.append(Item(len(items), line.strip(), base_seed + len(items)))
    if not items:
        raise UserError(f"--prompts {path}: no prompts")
    return items
