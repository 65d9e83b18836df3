"""Backend selection: our rasteriser unless pydiffvg is importable (it is not on the package index)."""

from __future__ import annotations

import pytest
import torch

from dreamsampler3d.errors import UserError
from dreamsampler3d.renderers.svg import Scene, Shape, circle, render
from dreamsampler3d.renderers.svg.backend import diffvg_available, render_scene

SCENE = Scene(16, 16, [Shape([circle(8, 8, 5)], fill=torch.tensor([0.2, 0.4, 0.6, 1.0]))])


def _cairosvg(scene: Scene, size: int) -> torch.Tensor:
    """An independent renderer's picture of the same scene, RGB over white in [0, 1]."""
    from dreamsampler3d.metrics.svg_quality import render_svg
    from dreamsampler3d.renderers.svg.svg_export import save_svg

    return torch.from_numpy(render_svg(save_svg(scene), size)).float() / 255


def _over_white(img: torch.Tensor) -> torch.Tensor:
    return img[..., :3] + (1 - img[..., 3:])


def test_torch_backend_draws_what_cairosvg_draws():
    assert (_over_white(render_scene(SCENE, 32, backend="torch")) - _cairosvg(SCENE, 32)).abs().mean() < 1 / 255


@pytest.mark.skipif(diffvg_available(), reason="pydiffvg is installed")
def test_auto_falls_back_and_diffvg_request_is_a_clear_error():
    assert (_over_white(render_scene(SCENE, 32)) - _cairosvg(SCENE, 32)).abs().mean() < 1 / 255
    with pytest.raises(UserError, match="pydiffvg"):
        render_scene(SCENE, 16, backend="diffvg")
    with pytest.raises(UserError, match="unknown SVG backend"):
        render_scene(SCENE, 16, backend="cairo")


@pytest.mark.skipif(not diffvg_available(), reason="pydiffvg not installed")
def test_diffvg_agrees_with_ours():
    ours = render(SCENE, 32, samples=2)
    theirs = render_scene(SCENE, 32, samples=2, backend="diffvg")
    assert (ours - theirs).abs().mean() < 2 / 255
