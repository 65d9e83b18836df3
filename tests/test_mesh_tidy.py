"""The exported text-to-3D mesh: its main piece only, upright in glTF's y-up convention on the ground plane,
smoothed without shrinking; checked through trimesh's own GLB loader."""

from __future__ import annotations

import numpy as np
import trimesh
from skimage import measure

from dreamsampler3d.generators.mesh_tidy import main_pieces, tidy


def _marching_box(extents=(0.4, 0.4, 1.0), n: int = 48) -> trimesh.Trimesh:
    """A box, tall along z (the renderer's up), meshed by marching cubes as a NeRF surface is."""
    axis = np.linspace(-0.7, 0.7, n)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    half = np.array(extents) / 2
    inside = np.maximum.reduce([np.abs(x) / half[0], np.abs(y) / half[1], np.abs(z) / half[2]])
    verts, faces, _, _ = measure.marching_cubes(-inside, level=-1.0)
    verts = verts * (axis[1] - axis[0]) + axis[0] + np.array([0.3, -0.2, 0.1])
    mesh = trimesh.Trimesh(verts, faces[:, ::-1], process=True)
    mesh.visual.vertex_colors = np.tile([200, 30, 30, 255], (len(mesh.vertices), 1))
    return mesh


def test_floaters_go_and_the_object_stands_up_on_the_ground(tmp_path):
    box = _marching_box()
    speck = trimesh.creation.icosphere(radius=0.03)
    speck.apply_translation([1.0, 0.0, 0.0])
    mesh, share = tidy(trimesh.util.concatenate([box, speck]))
    mesh.export(tmp_path / "m.glb")
    back = trimesh.load(tmp_path / "m.glb", force="mesh")  # an independent reader of the file a user opens
    assert len(back.split(only_watertight=False)) == 1 and share > 0.99
    lo, hi = back.bounds
    size = hi - lo
    assert abs(lo[1]) < 1e-4 and abs(lo[0] + hi[0]) < 1e-4 and abs(lo[2] + hi[2]) < 1e-4  # on the ground, centred
    assert size[1] > 2 * size[0] and size[1] > 2 * size[2]  # the tall (z) axis is now y, glTF's up
    assert np.allclose(back.visual.vertex_colors[0][:3], [200, 30, 30])


def test_smoothing_keeps_the_size_and_volume():
    box = _marching_box()
    before = (box.volume, box.extents.copy())
    mesh, _ = tidy(box)
    assert abs(mesh.volume / before[0] - 1) < 0.02  # Taubin: 0.2 %; plain Laplacian: 4.5 %
    assert np.allclose(sorted(mesh.extents), sorted(before[1]), rtol=0.05)


def test_a_second_object_of_a_composition_is_kept():
    a, b = _marching_box(), _marching_box((0.5, 0.5, 0.3))
    b.apply_translation([0.0, 0.0, -1.2])
    kept, share = main_pieces(trimesh.util.concatenate([a, b]))
    assert len(kept.split(only_watertight=False)) == 2 and share > 0.99
