"""Backend selection: our rasteriser unless pydiffvg is importable (it is not on the package index)."""

from __future__ import annotations

import pytest
import torch

from dreamsampler3d.errors import UserError
from dreamsampler3d.renderers.svg import Scene, Shape, circle, render
from dreamsampler3d.renderers.svg.backend import diffvg_available, render_scene

SCENE = Scene(16, 16, [Shape([circle(8, 8, 5)], fill=torch.tensor([0.2, 0.4, 0.6, 1.0]))])


def test_torch_backend_is_the_renderer():
    assert torch.equal(render_scene(SCENE, 16, backend="torch"), render(SCENE, 16))


@pytest.mark.skipif(diffvg_available(), reason="pydiffvg is installed")
def test_auto_falls_back_and_diffvg_request_is_a_clear_error():
    assert torch.equal(render_scene(SCENE, 16), render(SCENE, 16))
    with pytest.raises(UserError, match="pydiffvg"):
        render_scene(SCENE, 16, backend="diffvg")
    with pytest.raises(UserError, match="unknown SVG backend"):
        render_scene(SCENE, 16, backend="cairo")


@pytest.mark.skipif(not diffvg_available(), reason="pydiffvg not installed")
def test_diffvg_agrees_with_ours():
    ours = render(SCENE, 32, samples=2)
    theirs = render_scene(SCENE, 32, samples=2, backend="diffvg")
    assert (ours - theirs).abs().mean() < 2 / 255
