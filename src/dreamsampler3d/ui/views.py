"""What the page shows of a run, as plain data: the progress bar and status lines (HTML), and which of the
run's files are downloads or viewers. No Gradio here, so the pieces are testable alone."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from .events import Progress

# the run's files offered for download, in this order (whichever exist)
DOWNLOADS = ("result.svg", "result.png", "mesh.glb", "mesh.obj", "mesh.ply", "orbit.mp4", "orbit.gif",
             "optimisation.mp4", "optimisation.gif", "config.yaml", "metrics.json")


def progress_html(p: Progress | None, total: int = 0) -> str:
    """<progress> with the step count in data attributes (what the end-to-end test reads)."""
    if p is None:
        return (f'<div class="ds-progress" data-step="0" data-total="{total}"><progress value="0" max="{max(total, 1)}">'
                f'</progress> <span class="ds-progress-text">waiting</span></div>')
    rate = f" · {p.seconds / max(p.step, 1):.2f} s/step"
    stage = f"stage {p.stage} · " if p.stage > 1 else ""
    return (f'<div class="ds-progress" data-step="{p.step}" data-total="{p.total}" data-stage="{p.stage}">'
            f'<progress value="{p.step}" max="{p.total}"></progress> '
            f'<span class="ds-progress-text">{stage}step {p.step} / {p.total}{rate}</span></div>')


def status_html(text: str, kind: str = "info") -> str:
    """One status line; kind 'error' carries the CLI's exact 'dreamsampler3d: error: ...' text."""
    return f'<div class="ds-status ds-{kind}">{html.escape(text)}</div>'


def error_line(message: str) -> str:
    """The line the command line prints for a UserError (cli/main.py)."""
    return f"dreamsampler3d: error: {message}"


def downloads(out: Path) -> list[str]:
    return [str(out / name) for name in DOWNLOADS if (out / name).is_file()]


def svg_html(out: Path) -> str | None:
    """result.svg at its own size, as an <img> (a data URL: the browser draws the file itself, no script runs)."""
    path = out / "result.svg"
    if not path.is_file():
        return None
    data = base64.b64encode(path.read_bytes()).decode()
    return (f'<div class="ds-svg"><img alt="result.svg" src="data:image/svg+xml;base64,{data}" '
            f'style="max-width:none;background:white"></div>')


def first(out: Path, *names: str) -> str | None:
    for name in names:
        if (out / name).is_file():
            return str(out / name)
    return None
