"""The command line that reproduces a run: now ``dreamsampler3d/command_line.py``, below both front ends (the web
UI imports it from there; ``cli`` may not be imported by ``ui``, docs/architecture.md). Kept for old imports."""

from __future__ import annotations

from ..command_line import ALWAYS, FLAGS, IGNORED, command_line, dotted, flatten

__all__ = ["ALWAYS", "FLAGS", "IGNORED", "command_line", "dotted", "flatten"]
