"""Which primitive a mesh is, judged as a solid: filled voxels against trimesh's own primitives.

Text-to-3D asked for "a red cube" should export a solid cube, whatever its proportions and whichever axis it stands
on. The mesh is voxelised and filled (trimesh), its occupancy resampled into its own bounding box (so proportions
and size do not count, only form), and compared by IoU with each ideal primitive treated the same way, in each of
the six ways its axis can point. Pieces and the main piece's share of the volume come from the mesh's connected
components. Used by benchmarks/text_to_3d_quality.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

RESOLUTION = 24  # cells per side of the bounding-box grid the IoU is taken on
IDEALS = ("cube", "sphere", "cylinder", "cone", "pyramid", "torus", "capsule")


@dataclass
class SolidJudgement:
    best: str  # the ideal primitive the mesh fills best
    iou: float  # its IoU
    ious: dict[str, float] = field(default_factory=dict)  # every ideal's best IoU
    pieces: int = 0  # connected components
    main_share: float = 0.0  # the largest component's share of the total volume


def occupancy(mesh, resolution: int = RESOLUTION) -> np.ndarray:
    """The filled solid of ``mesh`` resampled into its bounding box: bool [R, R, R] (axis order x, y, z)."""
    lo, hi = mesh.bounds
    voxels = mesh.voxelized(float((hi - lo).max()) / (3 * resolution)).fill()  # finer than the grid in every axis
    ticks = (np.arange(resolution) + 0.5) / resolution  # cell centres in [0, 1]
    unit = np.stack(np.meshgrid(ticks, ticks, ticks, indexing="ij"), -1).reshape(-1, 3)  # [R^3, 3]
    return voxels.is_filled(lo + unit * (hi - lo)).reshape((resolution,) * 3)


def ideal_mesh(name: str):
    """trimesh's primitive, its axis along z."""
    import trimesh

    if name == "cube":
        return trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    if name == "sphere":
        return trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    if name == "cylinder":
        return trimesh.creation.cylinder(radius=0.5, height=1.0, sections=96)
    if name == "cone":
        return trimesh.creation.cone(radius=0.5, height=1.0, sections=96)
    if name == "pyramid":
        return trimesh.Trimesh([[0.5, 0.5, 0], [0.5, -0.5, 0], [-0.5, 0.5, 0], [-0.5, -0.5, 0], [0, 0, 1]]).convex_hull
    if name == "torus":
        return trimesh.creation.torus(major_radius=0.35, minor_radius=0.15, major_sections=96, minor_sections=48)
    if name == "capsule":
        return trimesh.creation.capsule(height=0.5, radius=0.25, count=[48, 48])
    raise ValueError(f"unknown primitive {name!r}")


@lru_cache(maxsize=None)
def ideal_grids(name: str, resolution: int = RESOLUTION) -> tuple[np.ndarray, ...]:
    """The ideal's occupancy with its axis along x, y or z, either way up (six grids; fewer distinct ones)."""
    grid = occupancy(ideal_mesh(name), resolution)
    out = []
    for axis in range(3):
        g = np.moveaxis(grid, 2, axis)  # its axis (z) now along ``axis``
        out += [g, np.flip(g, axis=axis)]
    return tuple(out)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def judge_solid(mesh) -> SolidJudgement:
    """The best-matching ideal primitive of a mesh (trimesh.Trimesh), and its pieces."""
    grid = occupancy(mesh)
    ious = {name: max(iou(grid, g) for g in ideal_grids(name)) for name in IDEALS}
    best = max(ious, key=ious.get)
    parts = mesh.split(only_watertight=False)
    volumes = np.array([abs(p.volume) for p in parts]) if len(parts) else np.array([abs(mesh.volume)])
    share = float(volumes.max() / volumes.sum()) if volumes.sum() > 0 else 0.0
    return SolidJudgement(best, ious[best], ious, max(len(parts), 1), share)
