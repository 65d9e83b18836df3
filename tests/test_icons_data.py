"""Synthetic icon scenes: valid SVG, captions true of the render, seeded determinism."""

import random
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

torch.set_num_threads(1)
pytest.importorskip("cairosvg")

from dreamsampler3d.data.icons import (COLOURS, POSITIONS, SHAPES, make_scene,  # noqa: E402
                                       random_scene, render_scene, scene_from_seed)
from dreamsampler3d.data.judge import cell_of, judge_scene, triples, validate_on_renders  # noqa: E402


def test_vocabulary_sizes():
    assert len(SHAPES) >= 8 and len(COLOURS) >= 10
    rgb = np.array(list(COLOURS.values()), float)
    d = np.sqrt(((rgb[:, None] - rgb[None]) ** 2).sum(-1)) + np.eye(len(rgb)) * 1e9
    assert d.min() > 60  # named colours are distinct in RGB


def test_svg_is_valid_and_renders():
    for seed in range(20):
        scene = scene_from_seed(seed)
        root = ET.fromstring(scene.svg())
        assert root.tag.endswith("svg")
        img = render_scene(scene)
        assert img.shape == (64, 64, 3) and img.dtype == np.uint8
        assert len(np.unique(img.reshape(-1, 3), axis=0)) > 1  # something drawn


def test_determinism_by_seed():
    a, b = scene_from_seed(123), scene_from_seed(123)
    assert a == b and a.caption() == b.caption()
    assert np.array_equal(render_scene(a), render_scene(b))
    assert scene_from_seed(124).svg() != a.svg()


def test_caption_names_every_object():
    rng = random.Random(0)
    for _ in range(50):
        scene = random_scene(rng)
        cap = scene.caption()
        for o in scene.objects:
            assert f"{o.colour} {o.shape}" in cap
        if scene.say_background:
            assert cap.endswith(f"on a {scene.background} background")
        assert 1 <= len(scene.objects) <= 3


def test_named_colour_present_at_stated_position():
    rng = random.Random(1)
    checked = 0
    for _ in range(60):
        scene = random_scene(rng)
        img = render_scene(scene)
        for o in scene.objects:
            if o.position is None:
                continue
            col, row = POSITIONS[o.position]
            assert cell_of(o.cx, o.cy) == (col, row)
            x, y = int(round(o.cx)), int(round(o.cy))
            patch = img[max(0, y - 4):y + 5, max(0, x - 6):x + 7].reshape(-1, 3).astype(int)
            dist = np.abs(patch - np.array(COLOURS[o.colour])).sum(-1)
            assert dist.min() < 30, (scene.caption(), o)
            checked += 1
    assert checked > 20


def test_objects_do_not_overlap():
    rng = random.Random(2)
    for _ in range(200):
        objs = random_scene(rng).objects
        for i in range(len(objs)):
            for j in range(i):
                a, b = objs[i], objs[j]
                # bounding circles may touch by at most a pixel (cells 20 px apart, r <= 9.5)
                assert np.hypot(a.cx - b.cx, a.cy - b.cy) >= a.r + b.r - 1.5


def test_judge_accepts_ground_truth_and_rejects_wrong_prompt():
    scene = make_scene([("blue", "star", "top left"), ("yellow", "square", "bottom right")])
    img = render_scene(scene)
    assert all(v.colour_ok and v.shape_ok and v.position_ok for v in judge_scene(img, triples(scene)))
    wrong = judge_scene(img, [("red", "star", "top left")])[0]
    assert not wrong.colour_ok
    wrong = judge_scene(img, [("blue", "heart", "bottom right")])[0]
    assert not wrong.shape_ok and not wrong.position_ok
    acc = validate_on_renders(40, seed=3)
    assert min(acc.values()) >= 0.97
