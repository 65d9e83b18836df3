"""train-prior's work folder: in the user's cache (never the shared temporary directory), and every cache in it
read without pickle, so a file someone planted there is refused with one line and never run."""

from __future__ import annotations

import builtins
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from dreamsampler3d.errors import UserError
from dreamsampler3d.priors.training.data import concept_drawings, load_tensors, shape_scenes
from dreamsampler3d.priors.training.train_prior import default_work, encode_captions


class Planted:
    """Unpickling this opens (creates) ``marker``: proof that loading ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return builtins.open, (self.marker, "w")


def test_the_default_work_folder_is_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("DREAMSAMPLER3D_CACHE", str(tmp_path / "cache"))
    assert default_work(7) == tmp_path / "cache" / "prior-work-7"
    monkeypatch.delenv("DREAMSAMPLER3D_CACHE")
    assert default_work(0) == Path.home() / ".cache" / "dreamsampler3d" / "prior-work-0"
    assert tempfile.gettempdir() not in str(default_work(0)) or str(Path.home()).startswith(tempfile.gettempdir())


@pytest.mark.parametrize("name", ["ids_scenes_0_10.pt", "latents.pt", "unet_ckpt.pt"])
def test_a_planted_tensor_cache_is_refused_without_running_it(tmp_path, name):
    marker = tmp_path / "ran"
    path = tmp_path / name
    torch.save({"latents": torch.zeros(2), "scaling_factor": 1.0, "step": Planted(marker)}, path)
    with pytest.raises(UserError, match="more than tensors and numbers") as e:
        load_tensors(path)
    assert not marker.exists()
    assert "\n" not in str(e.value) and name in str(e.value)


def test_encode_captions_reads_its_cache_without_pickle(tmp_path):
    marker = tmp_path / "ran"
    torch.save(Planted(marker), tmp_path / "ids_x.pt")
    with pytest.raises(UserError):
        encode_captions(tmp_path, "x", ["a red star"], tok=None)  # the cache is read before any tokenizer
    assert not marker.exists()
    from dreamsampler3d.data.vocab import load_tokenizer, save_tokenizer

    tok = load_tokenizer(save_tokenizer(tmp_path / "tok", words=["a", "b"]))
    ids = tok(["a", "b"], padding="max_length", max_length=40, return_tensors="pt").input_ids
    torch.save(ids, tmp_path / "ids_y.pt")  # what this tool writes reads back as it was
    assert torch.equal(encode_captions(tmp_path, "y", ["a", "b"], tok=tok), ids)


def test_a_planted_npz_cache_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"
    images = np.empty(1, dtype=object)
    images[0] = Planted(marker)
    np.savez(tmp_path / "scenes_0_1.npz", images=images)  # an object array: pickled inside the npz
    (tmp_path / "scenes_0_1.json").write_text(json.dumps(["a caption"]))
    with pytest.raises(UserError, match="not a cache this tool wrote"):
        shape_scenes(tmp_path, 1, seed=0)
    np.savez(tmp_path / "concepts_0.npz", images=images, concept=np.zeros(1, np.int32))
    (tmp_path / "concepts_0.json").write_text(json.dumps({"captions": [], "set_key": [], "concepts": []}))
    with pytest.raises(UserError, match="not a cache this tool wrote"):
        concept_drawings(tmp_path, seed=0)
    assert not marker.exists()


def test_a_planted_pickle_beside_the_autoencoder_is_not_read(tmp_path):
    """The autoencoder caches (work/vae, work/vae_ft) are read as safetensors only: a pickled
    diffusion_pytorch_model.bin in their place is refused, not loaded."""
    from dreamsampler3d.priors.training.models import build_vae
    from dreamsampler3d.priors.training.train_prior import load_autoencoder

    marker = tmp_path / "ran"
    folder = tmp_path / "vae"
    build_vae().save_pretrained(folder, safe_serialization=True)
    assert load_autoencoder(folder) is not None  # what train-prior writes loads
    (folder / "diffusion_pytorch_model.safetensors").unlink()
    torch.save({"w": Planted(marker)}, folder / "diffusion_pytorch_model.bin")
    with pytest.raises(OSError, match="no file named diffusion_pytorch_model.safetensors"):
        load_autoencoder(folder)  # the .bin is not opened at all (diffusers would read it, if restricted)
    assert not marker.exists()


def test_cached_latents_of_other_data_are_refused(tmp_path):
    """A work folder reused with other data flags (--views, --no-concepts) holds latents of other images: one
    line, not a silent mix-up of latents and captions."""
    from dreamsampler3d.priors.training.train_prior import encode_latents

    torch.save({"latents": torch.zeros(3, 4, 16, 16), "scaling_factor": 1.0}, tmp_path / "latents.pt")
    with pytest.raises(UserError, match="holds 3 latents, this run has 5 images"):
        encode_latents(tmp_path, None, torch.zeros(5, 64, 64, 3, dtype=torch.uint8))


def _swap_two_words(folder: Path, a: str, b: str) -> None:
    """A valid tokenizer whose ids differ from the one saved: what another process's BPE run gives."""
    from transformers import CLIPTokenizer

    vocab = json.loads((folder / "vocab.json").read_text())
    vocab[a + "</w>"], vocab[b + "</w>"] = vocab[b + "</w>"], vocab[a + "</w>"]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "tokenizer.json").unlink(missing_ok=True)
    CLIPTokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"),
                  model_max_length=40).save_pretrained(str(folder))


def test_a_resumed_run_keeps_its_tokenizer_and_refuses_ids_of_another(tmp_path):
    """The caption ids (and the embedding rows trained on them) belong to the tokenizer that encoded them: a
    resume reuses the work folder's tokenizer instead of building a new one, and cached ids that another
    tokenizer gave are refused with one line."""
    from dreamsampler3d.data.vocab import load_tokenizer
    from dreamsampler3d.priors.training.train_prior import work_tokenizer

    words = ["a", "pink", "pina", "square", "colada"]
    folder = work_tokenizer(tmp_path, words)
    captions = ["a pink square", "a pina colada"]
    ids = encode_captions(tmp_path, "t", captions, load_tokenizer(folder))
    _swap_two_words(folder, "pink", "pina")  # as if the first run's trainer had ordered them so
    swapped = load_tokenizer(work_tokenizer(tmp_path, words))  # the resume: kept, not rebuilt
    assert swapped("pink").input_ids[1] == ids[1, 2]  # 'pink' now has the id 'pina' had
    with pytest.raises(UserError, match="another tokenizer"):
        encode_captions(tmp_path, "t", captions, swapped)
    with pytest.raises(UserError, match="not one token"):
        work_tokenizer(tmp_path, words + ["penguin"])
