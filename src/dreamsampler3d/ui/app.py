"""The web app: one tab per task family (ui/pages.py), every run through the worker process's single run queue
(ui/worker.py) and so through tasks/runner.run_config, the CLI's own code path, into the same output folders.
This process imports Gradio, never torch: the worker imports the tasks meanwhile, on another core."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from ..priors.embedded import EMBEDDED
from . import views
from .catalogue import Catalogue
from .events import FINAL, Accepted, Cancelled, Done, Failed, Log, Progress, Queued, Started
from .forms import MAX_UPLOAD_MB
from .pages import TaskForm, pages, task_form
from .worker import Job, RemoteRuns

CSS = """
.ds-progress progress { width: 60%; height: 1.1em; vertical-align: middle; }
.ds-status { white-space: pre-wrap; }
.ds-error { color: #b00020; font-weight: 600; }
/* a 64 px result fills its box (scaled up, pixels kept sharp) instead of sitting small in its middle */
.ds-preview img, .ds-result img { image-rendering: pixelated; width: 100%; height: 100%; object-fit: contain; }
.ds-svg img { display: block; border: 1px solid #ddd; }
"""


@dataclass
class Outputs:
    """One task's result column."""

    progress: Any
    status: Any
    preview: Any
    svg: Any
    result: Any
    mesh: Any
    video: Any
    files: Any
    command: Any

    def all(self) -> list[Any]:
        return [self.progress, self.status, self.preview, self.svg, self.result, self.mesh, self.video, self.files,
                self.command]


def result_column() -> Outputs:
    progress = gr.HTML(views.progress_html(None), elem_classes=["ds-progress-box"])
    status = gr.HTML(views.status_html("ready"), elem_classes=["ds-status-box"])
    preview = gr.Image(label="current render", type="numpy", format="png", interactive=False, height=256,
                       elem_classes=["ds-preview"])
    svg = gr.HTML(visible=False, elem_classes=["ds-svg-box"])
    result = gr.Image(label="result.png", type="filepath", format="png", interactive=False, visible=False, height=512,
                      buttons=["download", "fullscreen"], elem_classes=["ds-result"])
    mesh = gr.Model3D(label="mesh.glb (drag to orbit)", visible=False, elem_classes=["ds-mesh"])
    video = gr.Video(label="video", visible=False, autoplay=True, loop=True, elem_classes=["ds-video"])
    files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_classes=["ds-files"])
    command = gr.Code(label="command line (reproduces this run)", language="shell", interactive=False, lines=2,
                      wrap_lines=True, elem_classes=["ds-command"])
    return Outputs(progress, status, preview, svg, result, mesh, video, files, command)


class WebApp:
    """The pages and their handlers; ``runs`` (the worker process) executes one run at a time."""

    def __init__(self, out: str | Path = "outputs/ui", model: str | None = None, runs: RemoteRuns | None = None):
        self.out = Path(out)
        self.model = model or EMBEDDED
        self.runs = runs or RemoteRuns()
        self.jobs: dict[tuple[str, str], Job] = {}  # (browser session, task) -> its run

    # ------------------------------------------------------------------ layout
    def blocks(self, known: Catalogue) -> gr.Blocks:
        with gr.Blocks(title="dreamsampler3d", analytics_enabled=False) as demo:
            gr.Markdown("## dreamsampler3d\nEvery run goes through the same code as the command line and writes "
                        f"the same output folder, under `{self.out}`; runs take turns (one at a time).")
            model = gr.Textbox(value=self.model, label="model (--model: 'embedded' = the prior shipped with the "
                               "package for the task: flat icons, or 3D objects for text-to-3d; or a diffusers "
                               "folder / hub id)", elem_classes=["ds-model"])
            for page in pages([t.name for t in known.tasks]):
                with gr.Tab(page.title):
                    if len(page.tasks) == 1:
                        self.task_tab(page.tasks[0], model, known)
                    else:
                        with gr.Tabs():
                            for name in page.tasks:
                                with gr.Tab(name):
                                    self.task_tab(name, model, known)
        return demo

    def task_tab(self, name: str, model: Any, known: Catalogue) -> None:
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                form = task_form(known.get(name), known)
            with gr.Column(scale=1):
                outs = result_column()
        inputs = {model, *form.inputs.values()}

        def run(data: dict, request: gr.Request) -> Iterator[dict]:
            yield from self.run(form, model, outs, data, request)

        def cancel(request: gr.Request) -> None:
            job = self.jobs.get((request.session_hash, name))
            if job is not None:
                self.runs.cancel(job.id)

        # concurrency_limit: let every click reach the run queue, which shows its place in line
        form.run.click(run, inputs=inputs, outputs=outs.all(), concurrency_limit=16, api_name=f"run_{name}")
        form.cancel.click(cancel, inputs=None, outputs=None, concurrency_limit=None, api_name=f"cancel_{name}")

    # ------------------------------------------------------------------ a run
    def run(self, form: TaskForm, model: Any, outs: Outputs, data: dict, request: gr.Request) -> Iterator[dict]:
        """Send the form to the worker, stream progress, show the result; every UserError as the CLI's line."""
        task = form.task
        values = {name: data[comp] for name, comp in form.inputs.items()}
        values["model"] = data[model]
        hidden = {outs.svg: gr.update(visible=False), outs.result: gr.update(visible=False, value=None),
                  outs.mesh: gr.update(visible=False, value=None), outs.video: gr.update(visible=False, value=None),
                  outs.files: None, outs.preview: None}
        job = self.runs.submit(task, values, self.out)
        key = (request.session_hash if request is not None else "", task)
        self.jobs[key] = job
        notes: list[str] = []  # the runner's notes, and a worker restart: kept above every later status line

        def say(text: str, kind: str = "info") -> str:
            return views.status_html("\n".join([*notes, text]), kind)

        over = accepted = False
        try:
            for event in job.stream():
                if isinstance(event, Accepted):
                    accepted = True
                    yield {**hidden, outs.command: event.command, outs.progress: views.progress_html(None, event.steps),
                           outs.status: say(f"queued: {event.out}")}
                elif isinstance(event, Queued):
                    if event.ahead:  # 0: it starts at once
                        yield {outs.status: say(f"queued: {event.ahead} run(s) ahead of this one")}
                elif isinstance(event, Started):
                    yield {outs.status: say(f"running {task}")}
                elif isinstance(event, Log):
                    notes.append(event.message)
                    yield {outs.status: views.status_html("\n".join(notes))}
                elif isinstance(event, Progress):
                    update = {outs.progress: views.progress_html(event)}
                    if event.preview is not None:
                        update[outs.preview] = event.preview
                    yield update
                elif isinstance(event, FINAL):
                    over = True
                    if isinstance(event, Failed) and not accepted:  # the form itself: nothing ran
                        yield {**hidden, outs.progress: views.progress_html(None), outs.command: "",
                               outs.status: say(failure(event), "error")}
                    else:
                        yield self.finished(event, outs, notes)
        finally:
            if not over:  # the page went away mid-run: stop the run rather than compute for nobody
                self.runs.cancel(job.id)
            if self.jobs.get(key) is job:
                del self.jobs[key]

    def finished(self, event: Any, outs: Outputs, notes: list[str]) -> dict:
        if isinstance(event, Failed):
            return {outs.status: views.status_html("\n".join([*notes, failure(event)]), "error")}
        if isinstance(event, Cancelled):
            text = f"cancelled after step {event.step}"
            if event.resume:
                text += f"; continue it from the command line:\n{event.resume}"
            return {outs.status: views.status_html("\n".join([*notes, text]), "cancelled")}
        assert isinstance(event, Done)
        out = Path(event.out)
        metrics = json.loads((out / "metrics.json").read_text()) if (out / "metrics.json").is_file() else {}
        svg = views.svg_html(out)
        mesh = views.first(out, "mesh.glb")
        video = views.first(out, "orbit.mp4", "optimisation.mp4")
        done = f"done in {metrics.get('seconds', '?')} s: {out}"
        return {outs.status: views.status_html("\n".join([*notes, done]), "done"),
                outs.svg: gr.update(value=svg, visible=svg is not None),
                outs.result: gr.update(value=views.first(out, "result.png"), visible=svg is None),
                outs.mesh: gr.update(value=mesh, visible=mesh is not None),
                outs.video: gr.update(value=video, visible=video is not None),
                outs.files: views.downloads(out)}


def failure(event: Failed) -> str:
    """The CLI's line for a bad input; a bug says it is one."""
    return views.error_line(event.message) if event.user_error else f"internal error: {event.message}"


def launch(host: str = "127.0.0.1", port: int | None = None, model: str | None = None, out: str = "outputs/ui",
           block: bool = True, runs: RemoteRuns | None = None) -> Any:
    """Start the server (localhost unless told otherwise); ``block=False`` returns the app (tests, benchmarks).
    ``runs``: a worker process started earlier (the CLI starts it before importing Gradio)."""
    app = WebApp(out, model, runs)
    demo = app.blocks(app.runs.catalogue())
    demo.queue(default_concurrency_limit=4)
    demo.launch(server_name=host, server_port=port, max_file_size=f"{MAX_UPLOAD_MB}mb", prevent_thread_lock=not block,
                allowed_paths=[str(Path(out).resolve())], css=CSS, quiet=not block, footer_links=["api"],
                ssr_mode=False)
    return demo
