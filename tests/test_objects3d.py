"""The view data of 3D primitives (data/objects3d.py): silhouettes checked against trimesh's own mesh primitives
projected through the same pinhole cameras, shading against the light, captions against the camera."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from dreamsampler3d.data import objects3d as o3
from dreamsampler3d.renderers.nerf.cameras import Cameras, camera_rays, view_phrase

CAMERAS = Cameras(torch.tensor([0.0, 25.0, 75.0, -40.0]), torch.tensor([0.0, 70.0, 10.0, -120.0]),
                  torch.tensor([50.0] * 4), torch.tensor([1.8] * 4))


def _mesh(shape: str) -> trimesh.Trimesh:
    """trimesh's primitive of the same size and placement (its own construction, not our distances)."""
    if shape == "cube":
        return trimesh.creation.box(extents=[2 * o3.CUBE_HALF] * 3)
    if shape == "sphere":
        return trimesh.creation.icosphere(subdivisions=5, radius=o3.SPHERE_R)
    if shape == "cylinder":
        return trimesh.creation.cylinder(radius=o3.CYLINDER_R, height=2 * o3.CYLINDER_HALF, sections=256)
    if shape == "cone":
        mesh = trimesh.creation.cone(radius=o3.CONE_R, height=2 * o3.CONE_HALF, sections=256)
        mesh.apply_translation([0, 0, -o3.CONE_HALF])  # trimesh's base sits on z = 0
        return mesh
    if shape == "pyramid":
        h, b = o3.PYRAMID_HEIGHT_HALF, o3.PYRAMID_HALF
        return trimesh.Trimesh([[b, b, -h], [b, -b, -h], [-b, b, -h], [-b, -b, -h], [0, 0, h]]).convex_hull
    if shape == "torus":
        return trimesh.creation.torus(major_radius=o3.TORUS_R, minor_radius=o3.TORUS_r, major_sections=128,
                                      minor_sections=64)
    if shape == "capsule":
        mesh = trimesh.creation.capsule(height=2 * o3.CAPSULE_HALF, radius=o3.CAPSULE_R, count=[64, 64])
        mesh.apply_translation(-mesh.bounds.mean(axis=0))  # centred, whatever trimesh's convention
        return mesh
    raise AssertionError(shape)


def _projected(mesh: trimesh.Trimesh, cams: Cameras, v: int, size: int, up: int = 8) -> np.ndarray:
    """The mesh's silhouette from camera v: its triangles projected by a pinhole camera (the frame camera_rays
    describes) and filled with PIL at ``up`` times the size, then sampled at the pixel centres. [size, size] bool"""
    from PIL import Image, ImageDraw

    centre = cams.positions()[v].double().numpy()
    forward = -centre / np.linalg.norm(centre)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    focal = 0.5 * size / np.tan(np.deg2rad(float(cams.fov[v])) / 2)
    rel = mesh.vertices - centre
    depth = rel @ forward
    px = (rel @ right) / depth * focal + size / 2
    py = size / 2 - (rel @ cam_up) / depth * focal
    canvas = Image.new("1", (size * up, size * up))
    draw = ImageDraw.Draw(canvas)
    for tri in mesh.faces:
        draw.polygon([(px[i] * up, py[i] * up) for i in tri], fill=1)
    fine = np.asarray(canvas, dtype=bool)
    return fine[up // 2::up, up // 2::up]


@pytest.mark.parametrize("shape", o3.PRIMITIVES)
def test_silhouettes_match_trimesh_ray_casting(shape):
    mesh = _mesh(shape)
    assert mesh.is_watertight
    origins, dirs = camera_rays(CAMERAS, 40, 40)  # [V, 40, 40, 3]
    ours, _ = o3.trace([o3.Part(shape, "red")], origins, dirs)
    for v in range(len(CAMERAS)):
        a, b = ours[v].numpy(), _projected(mesh, CAMERAS, v, 40)
        iou = (a & b).sum() / max((a | b).sum(), 1)
        assert b.sum() > 40 and iou >= 0.95, (shape, v, iou, a.sum(), b.sum())


def test_stacked_objects_touch_and_keep_their_colours():
    """'a blue cube on top of a red cylinder': from the side, red below, blue above, no white gap between them."""
    parts = o3.stack("cylinder", "red", "cube", "blue")
    side = Cameras(torch.tensor([0.0]), torch.tensor([90.0]), torch.tensor([50.0]), torch.tensor([1.8]))
    img = o3.render(parts, side, 64, torch.tensor([0.0, 1.0, 0.0]), supersample=1)[0].astype(int)  # lit from the camera
    column = img[:, 32]  # [64, 3] top to bottom
    ink = np.flatnonzero((column != 255).any(axis=1))
    rows = column[ink[0]:ink[-1] + 1]
    assert not (rows == 255).all(axis=1).any()  # one piece: no background row between the two objects
    top, bottom = rows[: len(rows) // 4], rows[-len(rows) // 4:]
    assert (top[:, 2] > top[:, 0] + 60).all() and (bottom[:, 0] > bottom[:, 2] + 60).all()


def test_shading_follows_the_light():
    """A sphere lit from the camera is brightest at its centre and darker towards its rim; lit from behind the
    camera's view it is ambient only (normals right, light applied)."""
    front = Cameras(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([50.0]), torch.tensor([1.8]))
    to_camera = front.positions()[0] / front.positions()[0].norm()
    lit = o3.render([o3.Part("sphere", "grey")], front, 64, to_camera, supersample=1)[0]
    grey = lit[..., 0].astype(int)
    row = np.flatnonzero((lit[32] != 255).any(-1))  # the sphere's pixels on the middle row
    assert grey[32, 32] > grey[32, row[1]] + 30  # the centre faces the light; the rim turns away
    behind = o3.render([o3.Part("sphere", "grey")], front, 64, -to_camera, supersample=1)[0][..., 0].astype(int)
    inside = (lit != 255).any(-1)
    assert np.ptp(behind[inside]) <= 2  # flat ambient


@pytest.mark.parametrize("elevation, azimuth, words", [(75, 0, "overhead view"), (-40, 0, "view from below"),
                                                      (10, 0, "front view"), (10, 90, "side view"),
                                                      (10, -100, "side view"), (10, 180, "back view")])
def test_view_words(elevation, azimuth, words):
    assert view_phrase(elevation, azimuth) == words


def test_views_are_captioned_and_fixed_by_the_seed():
    a, caps = o3.object_views(6, seed=3, size=32, k=4)
    b, again = o3.object_views(6, seed=3, size=32, k=4)
    assert np.array_equal(a, b) and caps == again
    assert a.shape == (6, 32, 32, 3) and all(len(cs) == 4 and all(c.endswith("view") for c in cs) for cs in caps)
    assert all((img != 255).any(-1).mean() > 0.02 for img in a)  # every view shows its object


def test_view_words_go_only_to_priors_that_read_them(tiny_folders, tmp_path):
    """The flat-icon prior never saw 'side view' (its captions' words are in its tokenizer); a model this project
    did not train reads any text; a prior of ours trained on captioned views knows the words."""
    import json
    import shutil

    from dreamsampler3d.tasks.text_to_3d import knows_view_words

    assert not knows_view_words("embedded-icons")
    assert knows_view_words("embedded")  # text-to-3D's own embedded prior: the 3D-object one
    assert knows_view_words(tiny_folders["sd1"])
    assert knows_view_words("some-org/some-model")  # a hub id: nothing read, no network
    ours = shutil.copytree(tiny_folders["sd1"], tmp_path / "ours")
    (ours / "tokenizer" / "vocab.json").write_text(json.dumps({"a</w>": 0, "c</w>": 1}))  # CLIP's own layout
    assert knows_view_words(str(ours))  # a folder train-prior did not write: any text is read
    (ours / "training_info.json").write_text("{}")
    words = ["a", "red", "cube", "front", "side", "back", "overhead", "view", "from", "below"]
    (ours / "tokenizer" / "vocab.json").write_text(json.dumps({f"{w}</w>": i for i, w in enumerate(words)}))
    assert knows_view_words(str(ours))
    words.remove("overhead")
    (ours / "tokenizer" / "vocab.json").write_text(json.dumps({f"{w}</w>": i for i, w in enumerate(words)}))
    assert not knows_view_words(str(ours))
