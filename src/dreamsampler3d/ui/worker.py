"""The runs, in a process of their own: it imports torch, Lightning and the tasks while the web process
imports Gradio (two cores start the UI in the time of the slower), and a run's computing never holds the
page's interpreter lock. Inside it, one run at a time: a FIFO of jobs and one thread that executes them through
the task runner (``tasks/runner.run_config``, exactly what the CLI calls).

The web process talks to it through a queue of requests ("submit", id, task, form values, output root) and
("cancel", id), and a pipe of answers: the catalogue first, then (id, event) pairs (ui/events.py).

The web process's ``RemoteRuns`` watches the worker: when it dies (killed, out of memory), the runs it held are
reported as failed, a new worker is started, and the next runs' pages say so. The worker dies with the web process
(Linux: the kernel kills it the moment its parent goes, even mid-run; elsewhere it polls its parent)."""

from __future__ import annotations

import copy
import ctypes
import itertools
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import queue
import signal
import sys
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


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Linux kills this process (SIGKILL) as soon as the web process that started it is gone, however it went
    (SIGTERM and SIGKILL run no clean-up) and whatever this process is doing: a run deep in a C call that keeps
    the request loop from polling its parent, a pipe to the dead parent filled up. Elsewhere the polling does."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it went before the call above
        os._exit(0)


class Outbox:
    """The worker's end of the answer pipe: whole messages from any thread (a Connection is not thread-safe). The
    web process gone, there is nobody to run for: exit at once (a normal exit could wait on threads and
    pipes that no longer lead anywhere)."""

    def __init__(self, conn: mpc.Connection):
        self._conn, self._lock = conn, threading.Lock()

    def put(self, message: Any) -> None:
        try:
            with self._lock:
                self._conn.send(message)
        except (OSError, EOFError):
            os._exit(0)


def serve(requests: "mp.Queue", answers: mpc.Connection, parent: int) -> None:
    """The worker process: send the catalogue, then take requests until the web process stops it or goes away."""
    die_with_parent(parent)
    from ..command_line import command_line
    from ..tasks.runner import leave_a_core
    from .catalogue import catalogue
    from .forms import build_run

    events = Outbox(answers)
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
                os._exit(0)
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


@dataclass
class Worker:
    """One worker process with its own request queue and answer pipe (a process killed mid-message leaves them
    unusable, so every worker gets new ones), and the ids of the jobs sent to it."""

    process: Any
    requests: Any
    answers: mpc.Connection
    ready: threading.Event = field(default_factory=threading.Event)  # its catalogue came: it imported the tasks
    sent: set[int] = field(default_factory=set)
    reader: threading.Thread | None = None

    def exited(self) -> bool:
        """Without reaping it (the supervisor's join does)."""
        return bool(mpc.wait([self.process.sentinel], 0))


def exit_reason(code: int | None) -> str:
    """A worker's exit status in words ('killed by SIGKILL', 'exit code 1')."""
    if code is None:
        return "it stopped"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}" + (", out of memory perhaps" if -code == signal.SIGKILL else "")
    return f"exit code {code}"


class RemoteRuns:
    """The web process's handle on the worker process (started at once, so both import side by side), and its
    supervisor: a dead worker is replaced, the runs it held fail with the reason, and the runs after it say the
    worker was restarted. No job is left waiting on a worker that is gone."""

    def __init__(self, grace: float = 5.0) -> None:
        self._ctx = mp.get_context("spawn")  # a fresh interpreter: no inherited threads or locks, same on every OS
        self.grace = grace  # seconds close() gives the worker at each step (stop, SIGTERM, SIGKILL)
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}  # not over yet
        self._pending: list[tuple] = []  # requests held while no worker is up
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._worker: Worker | None = None
        self._notice: str | None = None  # told to the runs that follow a restart
        self._broken: str | None = None  # why no worker can be started: every run fails with it
        self._closing = threading.Event()
        self._up = threading.Event()  # the first worker is started
        self._ready = threading.Event()  # its catalogue came (or it failed)
        threading.Thread(target=self._supervise, name="dreamsampler3d-supervisor", daemon=True).start()
        self._up.wait()

    # ------------------------------------------------------------------ the page's side
    def catalogue(self) -> Catalogue:
        """The tasks, once the first worker has imported them."""
        self._ready.wait()
        if self._catalogue is None:
            raise RuntimeError(self._broken or "the worker process sent no catalogue")
        return self._catalogue

    def submit(self, task: str, values: dict[str, Any], root: str | Path) -> Job:
        """Send a form's values; the job's first event is Accepted (or Failed: the CLI's error line), after a
        Log saying the worker was restarted when it was."""
        job = Job(task, None, id=next(self._ids))  # its events come from the worker
        request = ("submit", job.id, task, values, str(root))
        with self._lock:
            if self._broken is not None:
                job.events.put(Failed(self._broken, False))
                return job
            self._jobs[job.id] = job
            if self._notice is not None:
                job.events.put(Log(self._notice))
            self._send(request)
        return job

    def cancel(self, job_id: int) -> None:
        with self._lock:
            held = [r for r in self._pending if r[1] == job_id]
            if held:  # never sent: over at once
                self._pending.remove(held[0])
                job = self._jobs.pop(job_id)
                job.events.put(Cancelled(0))
                return
            worker = self._worker
        if worker is not None:
            _put(worker.requests, ("cancel", job_id))

    def pid(self) -> int | None:
        """The process running the tasks now (None while it is being replaced)."""
        worker = self._worker
        return None if worker is None else worker.process.pid

    def close(self) -> None:
        """Stop the worker: ask, then SIGTERM, then SIGKILL, ``grace`` seconds apart (a run deep in a C call, or
        a SIGTERM handler of Lightning's, can keep it from stopping). It must not outlive the server."""
        self._closing.set()
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is None:
            return
        _put(worker.requests, ("stop",))
        for stop in (None, worker.process.terminate, worker.process.kill):
            if stop is not None:
                stop()
            worker.process.join(self.grace)
            if not worker.process.is_alive():
                break
        _discard(worker)

    # ------------------------------------------------------------------ the supervisor's side
    def _send(self, request: tuple) -> None:
        """To the worker, or held for the next one while none is up (call with the lock held)."""
        worker = self._worker
        if worker is None or worker.exited():
            self._pending.append(request)
            return
        worker.sent.add(request[1])
        _put(worker.requests, request)

    def _supervise(self) -> None:
        """Start a worker, wait for it to exit, account for its jobs, start the next. The only thread that starts
        workers: Linux ties a worker's life to the thread that started it (die_with_parent), and this one lives
        as long as the server."""
        try:
            while not self._closing.is_set():
                worker = self._start()
                self._up.set()
                mpc.wait([worker.process.sentinel])  # until it exits; this thread must outlive it (above)
                if self._closing.is_set():
                    return  # close() reaps it
                worker.process.join()
                self._replace(worker)
        except Exception as exc:  # a bug here must not leave runs waiting forever
            traceback.print_exc()
            self._give_up(f"the worker supervisor failed: {type(exc).__name__}: {exc}")
        finally:
            self._up.set()

    def _start(self) -> Worker:
        """A new worker process; the requests held meanwhile go to it."""
        requests = self._ctx.Queue()
        receive, send = self._ctx.Pipe(duplex=False)
        process = self._ctx.Process(target=serve, args=(requests, send, os.getpid()), name="dreamsampler3d-worker",
                                    daemon=True)
        process.start()
        send.close()  # the worker holds the only writing end: its death ends the pipe, even mid-message
        worker = Worker(process, requests, receive)
        worker.reader = threading.Thread(target=self._read, args=(worker,), name="dreamsampler3d-events", daemon=True)
        worker.reader.start()
        with self._lock:
            self._worker = worker
            held, self._pending = self._pending, []
            for request in held:
                self._send(request)
        return worker

    def _replace(self, worker: Worker) -> None:
        """The worker is gone: fail the jobs it held (after its last answers are read), tell later runs."""
        reason = exit_reason(worker.process.exitcode)
        with self._lock:
            if self._worker is worker:
                self._worker = None
        if worker.reader is not None:
            worker.reader.join(timeout=5.0)  # its pipe ended with the process: this returns at once
        _discard(worker)
        if not worker.ready.is_set():  # it died while importing: a new one would too
            self._give_up(f"the worker process exited ({reason}) before it was ready")
            return
        with self._lock:
            lost = [self._jobs.pop(i) for i in sorted(worker.sent) if i in self._jobs]
            self._notice = (f"note: the worker process that runs the tasks had stopped ({reason}) and was "
                            "restarted; the run it held failed")
            for request in self._pending:  # sent while it was down: they go to the new one, saying why they waited
                self._jobs[request[1]].events.put(Log(self._notice))
        for job in lost:
            job.events.put(Failed(f"the worker process stopped ({reason}) before this run finished; a new one has "
                                  "been started (restarted): run it again", False))

    def _give_up(self, why: str) -> None:
        """No worker can run: every run, now and later, fails with ``why``."""
        with self._lock:
            self._broken = why
            jobs, self._jobs, self._pending = list(self._jobs.values()), {}, []
        self._ready.set()
        for job in jobs:
            job.events.put(Failed(why, False))

    def _read(self, worker: Worker) -> None:
        """The worker's answers, until its pipe ends (it exited: even a message it was writing ends there)."""
        while True:
            try:
                message = worker.answers.recv()
            except (EOFError, OSError):
                return
            except Exception:  # a message cut short and unpicklable: the worker is going
                traceback.print_exc()
                return
            self._deliver(worker, message)

    def _deliver(self, worker: Worker, message: tuple) -> None:
        if message[0] == "catalogue":
            if self._catalogue is None:
                self._catalogue = message[1]
                self._ready.set()
            worker.ready.set()
            return
        job_id, event = message
        with self._lock:
            job = self._jobs.get(job_id)
            if isinstance(event, FINAL):
                self._jobs.pop(job_id, None)
            if isinstance(event, (Accepted, Failed)) and worker is self._worker:
                self._notice = None  # the new worker has answered a run: the runs after it need no note
        if job is not None:
            job.events.put(event)


def _put(requests: "mp.Queue", message: tuple) -> None:
    """Onto a worker's request queue, which may have been closed by now (that worker is gone)."""
    try:
        requests.put(message)
    except (ValueError, OSError):
        pass


def _discard(worker: Worker) -> None:
    """Close a finished worker's queue and pipe; the queue's feeder must not hold up this process's exit."""
    worker.requests.cancel_join_thread()
    worker.requests.close()
    if worker.reader is None or not worker.reader.is_alive():  # never under a thread still reading it
        worker.answers.close()
