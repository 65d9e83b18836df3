"""The pages: which tasks each tab holds and which of their options it shows, and the one builder that turns a
task's catalogue entry (ui/catalogue.py, read from the registry) into its form. Inputs come from the spec's
``inputs``, methods from its ``methods``, labels are the config's dotted keys and every default is read from the
task's config (dataclass + YAML), so the page and the command line cannot disagree. Any other key is reachable
through the key=value box (except those naming server files: ui/forms.py). Image uploads are ui/uploads.py's
widgets: the file as sent, never Gradio's decoded copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from .catalogue import Catalogue, TaskInfo
from .uploads import ImageFile, image_editor


@dataclass(frozen=True)
class Page:
    title: str
    tasks: tuple[str, ...]  # one sub-tab per task when more than one


PAGES = (
    Page("Text to SVG", ("text-to-svg",)),
    Page("SVG restoration / vectorisation", ("restore-svg", "vectorize")),
    Page("SVG editing", ("edit-svg",)),
    Page("Image edit / inpaint", ("inpaint", "edit")),
    Page("Text to 3D", ("text-to-3d",)),
)
OTHER = "More tasks"  # every registered task no page names (a new task shows up here by itself)

# The main options of each task (dotted config keys); the rest go through the key=value box.
OPTIONS: dict[str, tuple[str, ...]] = {
    "text-to-svg": ("run.steps", "run.seed", "sampler.guidance", "svg.num_paths", "output_size"),
    "restore-svg": ("run.steps", "run.seed", "strength", "rho", "svg.num_paths", "output_size"),
    "vectorize": ("run.steps", "run.seed", "svg.num_paths", "output_size"),
    "edit-svg": ("run.steps", "run.seed", "guidance", "init_at"),
    "inpaint": ("run.steps", "run.seed", "sampler.guidance"),
    "edit": ("run.steps", "run.seed", "guidance"),
    "restore": ("run.steps", "run.seed", "sampler.guidance"),
    "generate": ("run.steps", "run.seed", "sampler.guidance"),
    "text-to-3d": ("run.steps", "run.seed", "sampler.guidance", "views_per_step", "inner_steps", "render_size"),
}
COMMON_OPTIONS = ("run.steps", "run.seed")


def pages(tasks: list[str]) -> list[Page]:
    """PAGES, then one page for the registered ``tasks`` none of them holds."""
    named = {t for page in PAGES for t in page.tasks}
    rest = tuple(name for name in tasks if name not in named)
    return [*PAGES, *([Page(OTHER, rest)] if rest else [])]


@dataclass
class TaskForm:
    """One task's widgets: ``inputs`` maps the names forms.build_run reads to components (in click order)."""

    task: str
    inputs: dict[str, Any] = field(default_factory=dict)
    run: Any = None
    cancel: Any = None


def option_widget(key: str, value: Any) -> Any:
    """A widget for one config key, typed by its default value; the label is the key itself."""
    if isinstance(value, bool):
        return gr.Checkbox(value=value, label=key)
    if isinstance(value, int):
        return gr.Number(value=value, label=key, precision=0)
    if isinstance(value, float):
        return gr.Number(value=value, label=key)
    return gr.Textbox(value="" if value is None else str(value), label=key)


def task_form(spec: TaskInfo, known: Catalogue) -> TaskForm:
    """The inputs column of one task: its inputs, method, main options, the key=value box, Run and Cancel."""
    defaults = spec.defaults
    form = TaskForm(spec.name)
    w = form.inputs
    kinds = set(spec.inputs)
    gr.Markdown(f"`dreamsampler3d {spec.name}`: {spec.help}")
    if "prompt" in kinds:
        w["prompt"] = gr.Textbox(label="prompt", value=defaults.get("prompt", ""), placeholder="a red star on a white background",
                                 elem_classes=["ds-prompt"])
    if "masks" in kinds:  # paint the masks: one layer per mask, one prompt per layer
        w["image"] = image_editor(known.max_image_pixels, label="image: upload it, then paint the regions to fill (one layer per mask; add layers with the layer menu)", type="numpy",
                                    image_mode="RGBA", sources=["upload", "clipboard"], layers=True,
                                    brush=gr.Brush(default_size=24, colors=["#ff00ff", "#00c8ff"], color_mode="fixed"),
                                    elem_classes=["ds-editor"])
        w["masks"] = gr.File(label="or upload mask files (white = fill), after the painted ones", file_count="multiple",
                             file_types=["image"], elem_classes=["ds-mask-files"])
    elif "image" in kinds:
        w["image"] = ImageFile(label="image" if "degradation" not in kinds else "degraded image", type="filepath",
                               sources=["upload", "clipboard"], elem_classes=["ds-image"])
    if "svg" in kinds:
        w["svg"] = gr.File(label="SVG file", file_types=[".svg"], elem_classes=["ds-svg-file"])
    if "degradation" in kinds:
        w["degradation"] = gr.Dropdown(list(known.degradations), value=defaults.get("degradation"), label="degradation")
    if "mask" in kinds:
        w["mask"] = ImageFile(label="mask (degradation inpaint: white = the hole)", type="filepath",
                              sources=["upload"], elem_classes=["ds-mask"])
    if "prompts" in kinds:
        w["prompts"] = gr.Textbox(label="prompts (one a line; inpaint: one per mask)" if "masks" in kinds
                                  else "prompt (optional)", lines=2, elem_classes=["ds-prompts"])
    if spec.methods:
        w["method"] = gr.Dropdown(list(spec.methods), value=defaults.get("method", spec.methods[0]), label="method",
                                  info=spec.method_help or None)
    with gr.Row():
        for key in OPTIONS.get(spec.name, COMMON_OPTIONS):
            w[key] = option_widget(key, defaults[key])
    w["overrides"] = gr.Textbox(label="other options (key=value, one a line, as on the command line)", lines=2,
                                placeholder="sampler.eta=0.5", elem_classes=["ds-overrides"])
    with gr.Row():
        form.run = gr.Button("Run", variant="primary", elem_classes=["ds-run"])
        form.cancel = gr.Button("Cancel", variant="stop", elem_classes=["ds-cancel"])
    return form

