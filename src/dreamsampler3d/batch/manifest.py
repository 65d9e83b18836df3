"""The batch manifest: one JSON object a line, appended under an exclusive lock in one write, so that
several processes (and a kill at any moment) never leave a broken or interleaved line."""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any


class Manifest:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps({**record, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, sort_keys=True) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a torn last line: end it, keep ours whole
                line = b"\n" + line
            os.write(fd, line)
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line cut by a crash of the machine itself: ignore, never fatal
                continue
        return out

    def latest(self, run_id: str | None = None) -> dict[str, dict[str, Any]]:
        """Last record per item (optionally of one invocation)."""
        latest: dict[str, dict[str, Any]] = {}
        for rec in self.records():
            if run_id is None or rec.get("run") == run_id:
                latest[rec["item"]] = rec
        return latest
