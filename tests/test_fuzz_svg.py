"""Fuzz: a few hundred mutations of real icon files (the project's own icons and hand-written SVGs with
gradients, <use>, strokes and arcs) each either render or raise UserError, each within a time bound.
benchmarks/svg_fuzz.py runs the same over 20,000+ mutations of public icon sets in worker processes."""

from __future__ import annotations

import random

from dreamsampler3d.data.icons import make_scene
from dreamsampler3d.testing.fuzz import check, mutate

SEEDS = [
    make_scene([("red", "star", "top left"), ("blue", "ring", "bottom right")], "white").svg(),
    make_scene([("green", "heart", None)], "black").svg(),
    make_scene([("orange", "crescent", "left"), ("purple", "cross", "right")], "grey").svg(),
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 24 24" '
    'width="24" height="24"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" '
    'stop-color="#f00"/><stop offset="1" stop-color="#00f" stop-opacity=".5"/></linearGradient><path id="p" '
    'd="M2 2 h8 v8 z"/></defs><use xlink:href="#p" transform="translate(4 4) rotate(20)"/><circle cx="12" '
    'cy="12" r="7" fill="url(#g)" stroke="#000" stroke-width="1.5" stroke-linejoin="round"/><path d="M3 20 '
    'A 4 2 30 1 1 11 20 Q 15 10 21 20 Z" fill-rule="evenodd" opacity=".8"/></svg>',
    '<svg xmlns="http://www.w3.org/2000/svg" width="48" height="48"><g transform="scale(2)" opacity=".5">'
    '<polyline points="1,1 10,20 20,1" fill="none" stroke="teal" stroke-width="3" stroke-linecap="round"/>'
    '<ellipse cx="12" cy="12" rx="6" ry="3" fill="#abc"/></g><rect x="2" y="30" width="40" height="10" rx="3"/></svg>',
]


def test_mutated_svgs_render_or_raise_user_error():
    rng = random.Random(1234)
    crashes, slow, outcomes = [], [], {"ok": 0, "user-error": 0}
    for k in range(400):
        data = mutate(SEEDS[k % len(SEEDS)].encode(), rng)
        outcome, seconds = check(data, edit=k % 2 == 0)  # half also through edit-svg's outlines
        if outcome.startswith("crash"):
            crashes.append((outcome, data[:300]))
        else:
            outcomes[outcome] += 1
        if seconds > 10:
            slow.append((seconds, data[:300]))
    assert not crashes, crashes[:3]
    assert not slow, slow[:3]
    assert outcomes["ok"] > 50 and outcomes["user-error"] > 20, outcomes  # the mutations reach both branches
