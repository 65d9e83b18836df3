"""One run at a time per process: a FIFO of jobs and one worker thread that executes them through the task
runner (``tasks/runner.run_config``, exactly what the CLI calls). Each job streams its events (queued position,
progress, done / failed / cancelled) to whoever watches it, so the page's requests stay short and a second
run waits its turn instead of competing for the same cores."""

from __future__ import annotations

import itertools
import queue
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Union

from ..errors import UserError
from .progress import Progress, ProgressBridge, RunCancelled


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
class Done:
    out: Path


@dataclass(frozen=True)
class Failed:
    message: str  # the line the CLI would print after 'dreamsampler3d: error: '
    user_error: bool  # False: a bug (the message then names the exception)


@dataclass(frozen=True)
class Cancelled:
    step: int  # steps finished in the last stage (0: cancelled while queued)


Event = Union[Queued, Started, Log, Progress, Done, Failed, Cancelled]
FINAL = (Done, Failed, Cancelled)


@dataclass
class Job:
    task: str
    cfg: Any
    id: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    events: "queue.Queue[Event]" = field(default_factory=queue.Queue)

    def stream(self, poll: float = 0.25) -> Iterator[Event]:
        """Events until the final one (Done, Failed or Cancelled)."""
        while True:
            try:
                event = self.events.get(timeout=poll)
            except queue.Empty:
                continue
            yield event
            if isinstance(event, FINAL):
                return


class RunQueue:
    """FIFO of jobs and the single thread that runs them (daemon: it dies with the server)."""

    def __init__(self, preview_every: float = 0.5):
        self.preview_every = preview_every
        self._jobs: "queue.Queue[Job]" = queue.Queue()
        self._waiting: list[Job] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.current: Job | None = None
        self._thread = threading.Thread(target=self._loop, name="dreamsampler3d-runs", daemon=True)
        self._thread.start()

    def submit(self, task: str, cfg: Any) -> Job:
        job = Job(task, cfg, id=next(self._ids))
        with self._lock:
            ahead = len(self._waiting) + (self.current is not None)
            self._waiting.append(job)
        job.events.put(Queued(ahead))
        self._jobs.put(job)
        return job

    def cancel(self, job_id: int | None) -> bool:
        """Cancel a queued or running job; False when it is already over (or unknown)."""
        with self._lock:
            for job in [*self._waiting, *([self.current] if self.current else [])]:
                if job.id == job_id:
                    job.cancel.set()
                    return True
        return False

    def pending(self) -> int:
        """Jobs waiting or running."""
        with self._lock:
            return len(self._waiting) + (self.current is not None)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            with self._lock:
                self._waiting.remove(job)
                self.current = job
                for k, other in enumerate(self._waiting):
                    other.events.put(Queued(k + 1))
            try:
                job.events.put(self._run(job))
            finally:
                with self._lock:
                    self.current = None

    def _run(self, job: Job) -> Event:
        """The job's final event; every failure becomes one (the worker thread must outlive any run)."""
        from ..tasks.runner import run_config

        if job.cancel.is_set():
            return Cancelled(0)
        job.events.put(Started())
        bridge = ProgressBridge(job.events.put, job.cancel, self.preview_every)
        try:
            out = run_config(job.task, job.cfg, log=lambda msg: job.events.put(Log(str(msg))), callbacks=[bridge])
            return Done(Path(out))
        except RunCancelled as exc:
            return Cancelled(exc.step)
        except UserError as exc:
            return Failed(str(exc), True)
        except Exception as exc:  # a bug: say what it was, keep serving
            traceback.print_exc()
            return Failed(f"{type(exc).__name__}: {exc}", False)
