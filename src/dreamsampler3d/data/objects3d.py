"""Views of simple 3D objects, captioned with the object and the view: the data of a view-aware prior.

Text-to-3D distils a 2D prior from many cameras with view-dependent prompts ("..., side view"), as DreamFusion does;
a prior that has only seen flat icons has nothing to pull a shape towards. These pictures show the primitives
(cube, sphere, cylinder, cone, pyramid, torus, capsule) in the named colours of ``data/icons.py``, and two-object
stacks, from cameras like the ones text-to-3D samples (``renderers/nerf/cameras.py``, +z up, azimuth 0 the front),
Lambert-shaded under a random light so that the shading carries the geometry. Rendered here by sphere tracing
analytic signed distances: no downloaded 3D data. ``tests/test_objects3d.py`` checks each silhouette against
trimesh's own ray casting of its mesh primitives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from ..renderers.nerf.cameras import Cameras, camera_rays, view_phrase
from .emoji_data import with_article
from .icons import COLOURS

PRIMITIVES = ("cube", "sphere", "cylinder", "cone", "pyramid", "torus", "capsule")
# Dimensions (scene units; the object is centred on the origin; a cube's corners reach 0.61, a stack 0.59).
CUBE_HALF = 0.35
SPHERE_R = 0.45
CYLINDER_R, CYLINDER_HALF = 0.35, 0.35
CONE_R, CONE_HALF = 0.4, 0.35  # base radius; the base at z = -CONE_HALF, the apex at +CONE_HALF
PYRAMID_HALF, PYRAMID_HEIGHT_HALF = 0.4, 0.35  # square base half-side; base at z = -0.35, apex at +0.35
TORUS_R, TORUS_r = 0.33, 0.13  # lying flat (its hole seen from overhead)
CAPSULE_HALF, CAPSULE_R = 0.22, 0.22  # the segment's half-length along z, the radius
STACK_SCALE = 0.6  # a two-object stack: each object at 0.6 of its size (at 0.5 stacks looked small beside single objects)
HALF_HEIGHT = {"cube": CUBE_HALF, "sphere": SPHERE_R, "cylinder": CYLINDER_HALF, "cone": CONE_HALF,
               "pyramid": PYRAMID_HEIGHT_HALF, "torus": TORUS_r, "capsule": CAPSULE_HALF + CAPSULE_R}


@dataclass(frozen=True)
class Part:
    """One object of a scene: a primitive, its colour name, a uniform scale and an offset along z."""

    shape: str
    colour: str
    scale: float = 1.0
    z: float = 0.0


def primitive_sdf(shape: str, p: Tensor) -> Tensor:
    """Signed distance (or a lower bound of it, for cone and pyramid: safe for sphere tracing) of points p [..., 3]
    to the unit-placed primitive; negative inside. [...]"""
    x, y, z = p.unbind(-1)
    if shape == "sphere":
        return p.norm(dim=-1) - SPHERE_R
    if shape == "cube":
        q = p.abs() - CUBE_HALF
        return q.clamp_min(0).norm(dim=-1) + q.max(dim=-1).values.clamp_max(0)
    if shape == "cylinder":
        d = torch.stack([torch.hypot(x, y) - CYLINDER_R, z.abs() - CYLINDER_HALF], -1)
        return d.clamp_min(0).norm(dim=-1) + d.max(dim=-1).values.clamp_max(0)
    if shape == "cone":
        slope = np.arctan2(CONE_R, 2 * CONE_HALF)  # half-angle at the apex
        lateral = torch.hypot(x, y) * np.cos(slope) - (CONE_HALF - z) * np.sin(slope)
        return torch.maximum(lateral, -(z + CONE_HALF))
    if shape == "pyramid":
        h = 2 * PYRAMID_HEIGHT_HALF
        n = np.hypot(h, PYRAMID_HALF)  # a face's plane: h * |x| + half * z = half * (h - half_height)... normalised
        faces = [(h * c + PYRAMID_HALF * (z - PYRAMID_HEIGHT_HALF)) / n for c in (x, -x, y, -y)]
        return torch.stack([*faces, -(z + PYRAMID_HEIGHT_HALF)], -1).max(dim=-1).values
    if shape == "torus":
        return torch.hypot(torch.hypot(x, y) - TORUS_R, z) - TORUS_r
    if shape == "capsule":
        axis = torch.stack([torch.zeros_like(z), torch.zeros_like(z), z.clamp(-CAPSULE_HALF, CAPSULE_HALF)], -1)
        return (p - axis).norm(dim=-1) - CAPSULE_R
    raise ValueError(f"unknown primitive {shape!r}; known: {', '.join(PRIMITIVES)}")


def scene_sdf(parts: list[Part], p: Tensor) -> tuple[Tensor, Tensor]:
    """(distance [...], index of the nearest part [...]) of the union of the parts."""
    dists = []
    for part in parts:
        local = (p - p.new_tensor([0.0, 0.0, part.z])) / part.scale
        dists.append(primitive_sdf(part.shape, local) * part.scale)
    d = torch.stack(dists, -1)  # [..., P]
    best = d.min(dim=-1)
    return best.values, best.indices


def trace(parts: list[Part], origins: Tensor, dirs: Tensor, iters: int = 96, far: float = 6.0) -> tuple[Tensor, Tensor]:
    """Sphere tracing: (hit [...] bool, distance along the ray [...]) for rays [..., 3]."""
    t = torch.zeros(origins.shape[:-1])
    hit = torch.zeros(origins.shape[:-1], dtype=torch.bool)
    for _ in range(iters):
        d, _ = scene_sdf(parts, origins + t[..., None] * dirs)
        hit = hit | (d.abs() < 1e-4)
        t = torch.where(hit, t, t + 0.95 * d.clamp_min(1e-4))  # the cone and pyramid bounds: a little short
        if bool(((t > far) | hit).all()):
            break
    return hit & (t <= far), t


def normals(parts: list[Part], p: Tensor, eps: float = 1e-3) -> Tensor:
    """Unit normals [..., 3] by central differences of the distance."""
    offsets = torch.eye(3) * eps
    grad = torch.stack([scene_sdf(parts, p + o)[0] - scene_sdf(parts, p - o)[0] for o in offsets], -1)
    return grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-8)


def render(parts: list[Part], cameras: Cameras, size: int, light: Tensor, supersample: int = 2,
           ambient: float = 0.3) -> np.ndarray:
    """Lambert-shaded views on white, uint8 [V, size, size, 3]. ``light``: a unit direction [3] towards the light."""
    side = size * supersample
    origins, dirs = camera_rays(cameras, side, side)  # [V, S, S, 3]
    hit, t = trace(parts, origins, dirs)
    points = origins + t[..., None] * dirs
    n = normals(parts, points)
    _, which = scene_sdf(parts, points)
    albedo = torch.tensor([COLOURS[part.colour] for part in parts], dtype=torch.float32)[which] / 255.0
    shade = ambient + (1 - ambient) * (n * light).sum(-1).clamp_min(0)  # [V, S, S]
    rgb = torch.where(hit[..., None], albedo * shade[..., None], torch.ones(3))
    rgb = rgb.reshape(len(cameras), size, supersample, size, supersample, 3).mean(dim=(2, 4))  # box filter
    return (rgb.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def caption(parts: list[Part], view: str, rng: random.Random) -> str:
    """'a red cube, side view'; a stack: 'a red cube on top of a blue cylinder, front view'."""
    names = [with_article(f"{p.colour} {p.shape}") for p in parts]
    what = names[0] if len(parts) == 1 else f"{names[1]} on top of {names[0]}"  # parts bottom first
    template = rng.choice(("{w}, {v}", "{w}, {v}", "a 3d render of {w}, {v}", "{w}, 3d, {v}"))
    return template.format(w=what, v=view)


def stack(bottom: str, bottom_colour: str, top: str, top_colour: str) -> list[Part]:
    """Two objects at STACK_SCALE, the top one resting on the bottom one, the pair centred on the origin."""
    hb, ht = HALF_HEIGHT[bottom] * STACK_SCALE, HALF_HEIGHT[top] * STACK_SCALE
    low = -(hb + ht)  # the stack's foot: its height is 2 (hb + ht)
    return [Part(bottom, bottom_colour, STACK_SCALE, low + hb), Part(top, top_colour, STACK_SCALE, low + 2 * hb + ht)]


def random_parts(rng: random.Random, stack_share: float = 0.15) -> list[Part]:
    colours = [c for c in COLOURS if c != "white"]  # on a white background
    if rng.random() < stack_share:
        bottom, top = rng.choice(PRIMITIVES), rng.choice(PRIMITIVES)
        c1, c2 = rng.sample(colours, 2)
        return stack(bottom, c1, top, c2)
    return [Part(rng.choice(PRIMITIVES), rng.choice(colours))]


def object_views(n: int, seed: int, size: int = 64, k: int = 1) -> tuple[np.ndarray, list[list[str]]]:
    """n views [n, size, size, 3] uint8 of random objects, cameras and lights, each with k captions (wordings of
    the same object and view, one drawn per training step); fixed by the seed."""
    rng = random.Random(seed)
    images, captions = np.zeros((n, size, size, 3), np.uint8), []
    for i in range(n):
        parts = random_parts(rng)
        elevation, azimuth = rng.uniform(-45.0, 80.0), rng.uniform(-180.0, 180.0)
        cams = Cameras(torch.tensor([elevation]), torch.tensor([azimuth]), torch.tensor([rng.uniform(40.0, 55.0)]),
                       torch.tensor([rng.uniform(1.7, 2.0)]))
        towards_camera = cams.positions()[0] / cams.positions()[0].norm()
        jitter = torch.tensor([rng.gauss(0, 0.5) for _ in range(3)])
        light = towards_camera + jitter + torch.tensor([0.0, 0.0, 0.5])  # near the camera, a little above
        images[i] = render(parts, cams, size, light / light.norm())[0]
        view = view_phrase(elevation, azimuth)
        captions.append([caption(parts, view, rng) for _ in range(k)])
    return images, captions
