"""Backend choice behind one call: our rasteriser, or diffvg when ``pydiffvg`` is importable.

diffvg is not on the package index, so it is strictly optional; scenes it cannot express (gradient
transforms, non-round joins or caps) always go to our rasteriser. Both return premultiplied RGBA.
"""

from __future__ import annotations

import importlib.util

import torch
from torch import Tensor

from ...errors import UserError
from .raster import render
from .scene import LinearGradient, RadialGradient, Scene

BACKENDS = ("auto", "torch", "diffvg")


def diffvg_available() -> bool:
    return importlib.util.find_spec("pydiffvg") is not None


def _diffvg_can_draw(scene: Scene) -> bool:
    for sh in scene.shapes:
        if sh.stroke is not None and (sh.linecap != "round" or sh.linejoin != "round"):
            return False
        for p in (sh.fill, sh.stroke):
            if isinstance(p, (LinearGradient, RadialGradient)) and p.transform is not None:
                if not torch.allclose(p.transform.detach().float(), torch.eye(3)):
                    return False
    return True


def _render_diffvg(scene: Scene, width: int, height: int, samples: int) -> Tensor:
    import pydiffvg  # noqa: PLC0415 - optional

    sx, sy = width / scene.width, height / scene.height
    scale = torch.tensor([sx, sy])
    shapes, groups = [], []

    def paint(p, opacity):
        if p is None:
            return None
        if isinstance(p, Tensor):
            return torch.cat([p[:3], p[3:] * opacity])
        cols = torch.cat([p.colors[:, :3], p.colors[:, 3:] * opacity], 1)
        if isinstance(p, LinearGradient):
            return pydiffvg.LinearGradient(p.start * scale, p.end * scale, p.offsets, cols)
        return pydiffvg.RadialGradient(p.center * scale, p.radius.reshape(-1).expand(2) * scale, p.offsets, cols)

    for sh in scene.shapes:
        ids = []
        for path in sh.paths:
            ids.append(len(shapes))
            ncp = torch.tensor([d - 1 for d in path.degrees], dtype=torch.int32)
            width_px = torch.as_tensor(sh.stroke_width, dtype=torch.float32) * (sx * sy) ** 0.5
            shapes.append(pydiffvg.Path(num_control_points=ncp, points=path.points * scale,
                                        is_closed=path.closed, stroke_width=width_px))
        op = torch.as_tensor(sh.opacity, dtype=torch.float32)
        groups.append(pydiffvg.ShapeGroup(shape_ids=torch.tensor(ids), fill_color=paint(sh.fill, op),
                                          stroke_color=paint(sh.stroke, op),
                                          use_even_odd_rule=sh.fill_rule == "evenodd"))
    args = pydiffvg.RenderFunction.serialize_scene(width, height, shapes, groups)
    img = pydiffvg.RenderFunction.apply(width, height, samples, samples, 0, None, *args)  # straight RGBA
    return torch.cat([img[..., :3] * img[..., 3:], img[..., 3:]], -1)


def render_scene(scene: Scene, width: int, height: int | None = None, samples: int = 1,
                 backend: str = "auto") -> Tensor:
    """Premultiplied RGBA [H, W, 4] from the chosen backend ("auto": diffvg when importable and able)."""
    if backend not in BACKENDS:
        raise UserError(f"unknown SVG backend {backend!r} (choose from {', '.join(BACKENDS)})")
    height = width if height is None else height
    if backend == "diffvg" and not diffvg_available():
        raise UserError("backend 'diffvg' requested but pydiffvg is not importable")
    if backend != "torch" and diffvg_available() and _diffvg_can_draw(scene):
        return _render_diffvg(scene, width, height, samples)
    return render(scene, width, height, samples=samples)
