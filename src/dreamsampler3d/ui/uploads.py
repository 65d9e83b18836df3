"""The page's image upload widgets, so that what reaches a run is what the user sent, read by the CLI's loader.

Gradio's own handling decodes every image upload before a handler sees it: ``gr.Image`` converts it to RGB
(16-bit channels clipped at 255) and ``gr.ImageEditor`` to RGBA, in the web process, before any limit of ours
applies (a 46 KB PNG claiming 13000x13000 pixels took 2 GB + 1.8 GB). Here ``ImageFile`` hands the uploaded file
over as it is (the worker checks its header against the pixel limit and the run reads it with
``io.images.load_image``, as the CLI does), and ``LimitedImageEditor`` checks the headers of the canvas files the
browser sends against the tool's pixel limit before Gradio decodes them. Both keep Gradio's front end
(``is_template``: the parent's Svelte component)."""

from __future__ import annotations

import io
from typing import Any, Iterator

import gradio as gr
from gradio.components.image_editor import EditorData

from ..errors import UserError
from .forms import check_pixels


class ImageFile(gr.Image):
    """A ``gr.Image`` whose value is the uploaded file's path, never a decoded and re-encoded copy."""

    is_template = True  # the front end of gr.Image

    def preprocess(self, payload: Any) -> str | None:
        if payload is None:
            return None
        if payload.path is None:  # a data: URL (only an API client sends one; the page uploads files)
            raise gr.Error("send the image as a file upload, not a data URL")
        return payload.path


class LimitedImageEditor(gr.ImageEditor):
    """A ``gr.ImageEditor`` that refuses images over ``max_pixels`` (the tool's limit, from the catalogue) from
    their headers, before Gradio decodes them."""

    is_template = True  # the front end of gr.ImageEditor
    max_pixels: int = 0  # set by image_editor(); not a constructor argument, so Gradio's config leaves it out

    def preprocess(self, payload: EditorData | None) -> Any:
        for name, data in _editor_files(self, payload):
            try:
                check_pixels(data, f"image {name}", self.max_pixels)
            except UserError as exc:
                raise gr.Error(f"dreamsampler3d: error: {exc}") from None
        return super().preprocess(payload)


def image_editor(max_pixels: int, **kwargs: Any) -> LimitedImageEditor:
    """The mask painter of the inpaint page, limited to the tool's pixel count."""
    editor = LimitedImageEditor(**kwargs)
    editor.max_pixels = max_pixels
    return editor


def _editor_files(editor: gr.ImageEditor, payload: EditorData | None) -> Iterator[tuple[str, Any]]:
    """(name, path or bytes stream) of every image in an editor payload: files, or blobs the browser sent ahead
    (Gradio keeps those by the payload's id)."""
    if payload is None:
        return
    if payload.id is not None and editor.blob_storage.get(payload.id) is not None:
        blobs = editor.blob_storage[payload.id]
        items = [("background", blobs.background), ("composite", blobs.composite),
                 *((f"layer {k}", layer) for k, layer in enumerate(blobs.layers or [], 1))]
        for name, blob in items:
            if blob:
                yield name, io.BytesIO(blob)
        return
    items = [("background", payload.background), ("composite", payload.composite),
             *((f"layer {k}", layer) for k, layer in enumerate(payload.layers or [], 1))]
    for name, data in items:
        if data is not None and getattr(data, "path", None):
            yield name, data.path
