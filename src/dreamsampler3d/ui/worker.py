"""The runs, in a process of their own: it imports torch, Lightning and the tasks while the web process
imports Gradio (two cores start the UI in the time of the slower), and a run's computing never holds the
page's interpreter lock. Inside it, one run at a time: a FIFO of jobs and one thread that executes them through
the task runner (``tasks/runner.run_config``, exactly what the CLI calls).

The web process talks to it through two queues (``RemoteRuns``): requests ("submit", id, task, form values,
output root) and ("cancel", id); it answers with the catalogue first, then (id, event) pairs (ui/events.py)."""

from __future__ import annotations

import copy
import itertools
import multiprocessing as mp
import os
import queue
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import UserError
from .catalogue import Catalogue
from .events import FINAL, Accepted, Cancelled, Done, Event, Failed, Log, Queued, Started


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
    """FIFO of jobs and the single thread that runs them (daemon: it dies with the process)."""

    def __init__(self, preview_every: float = 0.5):
        self.preview_every = preview_every
        self._jobs: "queue.Queue[Job]" = queue.Queue()
        self._waiting: list[Job] = []
        self._lock = threading.Lock()
        self.current: Job | None = None
        self._thread = threading.Thread(target=self._loop, name="dreamsampler3d-runs", daemon=True)
        self._thread.start()

    def submit(self, task: str, cfg: Any, job_id: int) -> Job:
        """Queue a run under the id the web process gave it."""
        job = Job(task, cfg, id=job_id)
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
        from .progress import ProgressBridge, RunCancelled

        if job.cancel.is_set():
            return Cancelled(0)
        job.events.put(Started())
        bridge = ProgressBridge(job.events.put, job.cancel, self.preview_every)
        try:
            out = run_config(job.task, job.cfg, log=lambda msg: job.events.put(Log(str(msg))), callbacks=[bridge])
            return Done(str(out))
        except RunCancelled as exc:
            return Cancelled(exc.step, resume_command(job))
        except UserError as exc:
            return Failed(str(exc), True)
        except Exception as exc:  # a bug: say what it was, keep serving
            traceback.print_exc()
            return Failed(f"{type(exc).__name__}: {exc}", False)


def resume_command(job: Job) -> str | None:
    """The command line that continues a cancelled run from its last checkpoint, when one was written."""
    from ..command_line import command_line

    ckpt = Path(job.cfg.run.out) / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        return None
    again = copy.deepcopy(job.cfg)
    again.run.resume = str(ckpt)
    return command_line(job.task, again)


def serve(requests: "mp.Queue", events: "mp.Queue", parent: int) -> None:
    """The worker process: send the catalogue, then take requests until the web process goes away."""
    from ..command_line import command_line
    from ..tasks.runner import leave_a_core
    from .catalogue import catalogue
    from .forms import build_run

    leave_a_core()  # the core left over serves the web process and the rest of the machine
    events.put(("catalogue", catalogue()))
    runs = RunQueue()

    def forward(job: Job) -> None:
        for event in job.stream():
            events.put((job.id, event))

    while True:
        try:
            request = requests.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:  # the web process died without a word (killed)
                return
            continue
        except (KeyboardInterrupt, EOFError, OSError):
            return
        if request[0] == "stop":
            return
        if request[0] == "cancel":
            runs.cancel(request[1])
            continue
        _, job_id, task, values, root = request
        try:
            cfg = build_run(task, values, Path(root))
        except UserError as exc:
            events.put((job_id, Failed(str(exc), True)))
            continue
        except Exception as exc:  # a bug in reading the form: say it, keep serving
            traceback.print_exc()
            events.put((job_id, Failed(f"{type(exc).__name__}: {exc}", False)))
            continue
        events.put((job_id, Accepted(command_line(task, cfg), str(cfg.run.out), int(cfg.run.steps))))
        threading.Thread(target=forward, args=(runs.submit(task, cfg, job_id),), daemon=True).start()


class RemoteRuns:
    """The web process's handle on the worker process (started at once, so both import side by side)."""

    def __init__(self) -> None:
        ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited threads or locks, same on every OS
        self._requests, self._events = ctx.Queue(), ctx.Queue()
        self._process = ctx.Process(target=serve, args=(self._requests, self._events, os.getpid()),
                                    name="dreamsampler3d-worker", daemon=True)
        self._process.start()
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._dispatch, name="dreamsampler3d-events", daemon=True).start()

    def catalogue(self) -> Catalogue:
        """The tasks, once the worker has imported them."""
        while not self._ready.wait(0.5):
            if not self._process.is_alive():
                raise RuntimeError(f"the worker process exited (code {self._process.exitcode}) before it was ready")
        assert self._catalogue is not None
        return self._catalogue

    def submit(self, task: str, values: dict[str, Any], root: str | Path) -> Job:
        """Send a form's values; the job's first event is Accepted (or Failed: the CLI's error line)."""
        job = Job(task, None, id=next(self._ids))  # its events come from the worker
        with self._lock:
            self._jobs[job.id] = job
        self._requests.put(("submit", job.id, task, values, str(root)))
        return job

    def cancel(self, job_id: int) -> None:
        self._requests.put(("cancel", job_id))

    def close(self) -> None:
        self._requests.put(("stop",))
        self._process.join(timeout=10)

    def _dispatch(self) -> None:
        while True:
            try:
                message = self._events.get(timeout=1.0)
            except queue.Empty:
                if not self._process.is_alive():
                    self._fail_all(f"the worker process exited (code {self._process.exitcode})")
                    return
                continue
            if message[0] == "catalogue":
                self._catalogue = message[1]
                self._ready.set()
                continue
            job_id, event = message
            with self._lock:
                job = self._jobs.get(job_id)
                if isinstance(event, FINAL):
                    self._jobs.pop(job_id, None)
            if job is not None:
                job.events.put(event)

    def _fail_all(self, why: str) -> None:
        with self._lock:
            jobs, self._jobs = list(self._jobs.values()), {}
        for job in jobs:
            job.events.put(Failed(why, False))
