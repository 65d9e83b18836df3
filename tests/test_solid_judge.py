"""The 3D judge (metrics/solid_judge.py) on meshes built by trimesh at other sizes, proportions, resolutions and
orientations than its ideals: each is judged the primitive it is; pieces and the main share are counted."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from dreamsampler3d.metrics.solid_judge import IDEALS, judge_solid


def _variant(name: str) -> trimesh.Trimesh:
    """The primitive at another size and tessellation than the judge's ideal."""
    c = trimesh.creation
    if name == "cube":
        return c.box(extents=(0.6, 0.6, 0.6))
    if name == "sphere":
        return c.uv_sphere(radius=0.7, count=[40, 40])
    if name == "cylinder":
        return c.cylinder(radius=0.3, height=0.8, sections=40)
    if name == "cone":
        return c.cone(radius=0.5, height=0.6, sections=40)
    if name == "pyramid":
        return trimesh.Trimesh([[1, 1, 0], [1, -1, 0], [-1, 1, 0], [-1, -1, 0], [0, 0, 1.2]]).convex_hull
    if name == "torus":
        return c.torus(major_radius=0.6, minor_radius=0.25, major_sections=40, minor_sections=20)
    if name == "capsule":
        return c.capsule(height=0.9, radius=0.45, count=[24, 24])
    raise AssertionError(name)


ROTATIONS = {"upright": np.eye(4), "on its side": trimesh.transformations.rotation_matrix(np.pi / 2, [1, 0, 0]),
             "upside down": trimesh.transformations.rotation_matrix(np.pi, [0, 1, 0])}


@pytest.mark.parametrize("name", IDEALS)
@pytest.mark.parametrize("pose", list(ROTATIONS))
def test_each_primitive_is_judged_what_it_is(name, pose):
    mesh = _variant(name)
    mesh.apply_transform(ROTATIONS[pose])
    mesh.apply_translation([3.0, -2.0, 1.0])
    j = judge_solid(mesh)
    assert j.best == name and j.iou >= 0.8, (name, pose, sorted(j.ious.items(), key=lambda kv: -kv[1])[:3])
    assert j.pieces == 1 and j.main_share == pytest.approx(1.0)


def test_pieces_and_main_share():
    big = trimesh.creation.icosphere(radius=1.0)
    small = trimesh.creation.icosphere(radius=0.5)
    small.apply_translation([5, 0, 0])
    j = judge_solid(trimesh.util.concatenate([big, small]))
    assert j.pieces == 2 and j.main_share == pytest.approx(8 / 9, abs=0.02)


def test_a_lumpy_blob_is_not_a_good_cube():
    """A sphere with random bumps: its best IoU with a cube stays below the 0.75 a cube needs."""
    blob = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    rng = np.random.default_rng(0)
    blob.vertices *= 1 + 0.25 * rng.random((len(blob.vertices), 1))
    assert judge_solid(blob).ious["cube"] < 0.75
