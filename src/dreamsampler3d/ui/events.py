"""What a run tells the page, as plain picklable data: the worker process sends these to the web process,
which turns them into page updates. No torch, no Gradio here: both processes import this module."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np


@dataclass(frozen=True)
class Accepted:
    """The form made a valid config: what the run is, before it waits its turn."""

    command: str  # the CLI command that reproduces the run
    out: str  # its output folder
    steps: int


@dataclass(frozen=True)
class Queued:
    ahead: int  # runs before this one (the running one included)


@dataclass(frozen=True)
class Started:
    pass


@dataclass(frozen=True)
class Log:
    message: str  # a note of the runner ('image resized ...')


@dataclass(frozen=True)
class Progress:
    """One finished sampler step of one stage (multi-stage tasks, e.g. restore-svg two-stage, count stages)."""

    step: int  # steps done in this stage, 1-based
    total: int  # steps of this stage
    stage: int  # 1-based
    seconds: float  # since the stage started
    preview: np.ndarray | None  # uint8 [H, W, 3] of the current render, or None when throttled


@dataclass(frozen=True)
class Done:
    out: str


@dataclass(frozen=True)
class Failed:
    message: str  # the line the CLI would print after 'dreamsampler3d: error: '
    user_error: bool  # False: a bug (the message then names the exception)


@dataclass(frozen=True)
class Cancelled:
    step: int  # steps finished in the last stage (0: cancelled while queued)
    resume: str | None = None  # the command that continues the run from its checkpoint, if one was written


Event = Union[Accepted, Queued, Started, Log, Progress, Done, Failed, Cancelled]
FINAL = (Done, Failed, Cancelled)
