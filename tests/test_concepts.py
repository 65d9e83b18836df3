"""Concepts from emoji sets (in their real formats, written by tests/helpers.py): the table, the captions, the
vocabulary warning and `dreamsampler3d concepts`, and a prior trained on them (no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamsampler3d.cli.main import main
from dreamsampler3d.data.vocabulary import Vocabulary

from helpers import icon_set_cache


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DREAMSAMPLER3D_CACHE", str(icon_set_cache(tmp_path / "cache")))
    return tmp_path / "cache"


def test_concept_table_keeps_the_things_and_drops_copies(cache):
    from dreamsampler3d.data.concepts import build_concepts

    concepts = {c.name: c for c in build_concepts()}
    assert sorted(concepts) == ["cat", "person running", "rocket", "wedding ring"]  # no man-copy, no component
    assert set(concepts["rocket"].icons) == {"fluent", "fluent-mono", "twemoji", "openmoji", "emojione", "fxemoji"}
    assert "rocket ship" in concepts["rocket"].aliases and "housecat" in concepts["cat"].aliases
    assert "kitten" in concepts["cat"].keywords
    assert "ring" not in concepts["wedding ring"].names()  # 'ring' is the shapes grammar's annulus


def test_drawings_and_captions(cache):
    from dreamsampler3d.data.emoji_data import concept_drawings, load_training_concepts

    concepts, sets = load_training_concepts()
    drawings, captions = concept_drawings(concepts, sets, seed=0)
    rocket = [(d, c) for d, c in zip(drawings, captions) if concepts[d.concept].name == "rocket"]
    assert {d.set_key for d, _ in rocket} == {"fluent", "fluent-mono", "twemoji", "emojione", "fxemoji"}  # no openmoji
    full = next(d.image for d, _ in rocket if d.set_key == "fluent")
    assert full.shape == (64, 64, 3) and (full[..., 0] > 150).sum() > 300  # the red triangle was rendered
    words = " ".join(c for _, caps in rocket for c in caps)
    assert "rocket" in words and "rockets" in words and "line icon" in words or "outline" in words


def test_vocabulary_names_the_nearest_concepts(tmp_path):
    folder = tmp_path / "prior"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "tokenizer" / "vocab.json").write_text(json.dumps({w + "</w>": i for i, w in enumerate(
        ["a", "cat", "rocket", "face", "red", "emoji"])}))
    (folder / "concepts.json").write_text(json.dumps([
        {"name": "cat", "aliases": ["housecat"], "keywords": ["cat", "kitten", "pet"], "group": "animals and nature"},
        {"name": "cat face", "aliases": [], "keywords": ["cat", "kitten"], "group": "animals and nature"},
        {"name": "rocket", "aliases": ["rocket ship"], "keywords": ["space"], "group": "travel and places"}]))
    v = Vocabulary.from_prior(folder)
    assert v.unknown("a red kitten emoji") == ["kitten"]
    note = v.note(["a kitten"])
    assert "'kitten' (nearest: cat, cat face)" in note and "concepts" in note
    assert v.note(["a red cat emoji"]) is None
    assert [c["name"] for c in v.search("rocket ship")] == ["rocket"]


def test_concepts_command(tmp_path, capsys):
    folder = tmp_path / "prior"
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "tokenizer" / "vocab.json").write_text(json.dumps({"cat</w>": 0}))
    (folder / "concepts.json").write_text(json.dumps([
        {"name": "cat", "aliases": ["housecat"], "keywords": ["kitten"], "group": "animals and nature"},
        {"name": "rocket", "aliases": [], "keywords": ["space"], "group": "travel and places"}]))
    assert main(["concepts", "--model", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "# animals and nature\ncat  (also: housecat)\n# travel and places\nrocket" in out
    assert main(["concepts", "--model", str(folder), "space"]) == 0
    assert capsys.readouterr().out.strip() == "rocket"
    assert main(["concepts", "--model", str(folder), "spaceship"]) == 1
    assert "no concept matches 'spaceship'" in capsys.readouterr().out
    assert main(["concepts", "--model", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_prior_trained_on_concepts_knows_their_words(cache, tmp_path):
    from diffusers import StableDiffusionPipeline

    from dreamsampler3d.priors.training.train_prior import main as train

    out = tmp_path / "prior"
    assert train(["--work", str(tmp_path / "work"), "--out", str(out), "--n-images", "700", "--workers", "1",
                  "--vae-minutes", "0.02", "--decoder-minutes", "0.01", "--minutes", "0.03", "--batch", "8"]) == 0
    info = json.loads((out / "training_info.json").read_text())
    assert info["n_concepts"] == 4 and info["n_drawings"] == 4 * 2 + 3 * 3 * 2 + 2
    v = Vocabulary.from_prior(out)
    assert {"rocket", "rockets", "cat", "housecat", "kitten", "wedding", "circle"} <= v.words  # kitten: a rare tag
    assert v.unknown("a red rocket emoji") == [] and v.unknown("a kitten spaceship") == ["spaceship"]
    pipe = StableDiffusionPipeline.from_pretrained(out)
    assert np.isfinite(pipe("a rocket", num_inference_steps=2, output_type="np").images).all()


@pytest.mark.slow
def test_prior_trained_with_3d_views_learns_their_words(cache, tmp_path):
    """--views adds captioned views of 3D objects (data/objects3d.py) to the concept pool: their words reach the
    tokenizer and the card counts them apart from the emoji drawings."""
    from dreamsampler3d.priors.training.train_prior import main as train

    out = tmp_path / "prior"
    assert train(["--work", str(tmp_path / "work"), "--out", str(out), "--n-images", "700", "--workers", "1",
                  "--views", "5", "--vae-minutes", "0.02", "--decoder-minutes", "0.01", "--minutes", "0.03",
                  "--batch", "8"]) == 0
    info = json.loads((out / "training_info.json").read_text())
    assert info["n_views"] == 5 and info["n_drawings"] == 4 * 2 + 3 * 3 * 2 + 2
    v = Vocabulary.from_prior(out)
    assert "view" in v.words and v.words & {"cube", "sphere", "cylinder", "cone", "pyramid", "torus", "capsule"}
    assert "3D object views rendered" in (out / "README.md").read_text()
