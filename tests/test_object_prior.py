"""The embedded 3D-object prior: stock diffusers loads it (UNet stored in fp16, run in fp32), text-to-3D uses it
when --model is left at 'embedded' while the 2D tasks keep the flat-icon prior, and either is named by
'embedded-icons' / 'embedded-objects'."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dreamsampler3d.cli.main import main
from dreamsampler3d.priors.embedded import ICONS, OBJECTS, embedded_prior_path, resolve_model, vocabulary


@pytest.fixture(scope="module")
def object_path():
    path = embedded_prior_path(OBJECTS)
    assert path is not None, "src/dreamsampler3d/assets/object-prior is missing"
    return path


def test_stock_diffusers_loads_it_and_draws_a_shaded_object(object_path):
    """A side view of a red cube: the object is red and shaded (its faces' reds spread), on white."""
    import torch
    from scipy import ndimage
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(object_path, safety_checker=None)
    assert pipe.unet.dtype == torch.float32  # stored in fp16, loaded for the CPU in fp32
    out = pipe("a red cube, side view", num_inference_steps=20, height=64, width=64, output_type="np",
               generator=torch.Generator().manual_seed(0), guidance_scale=5.0).images[0]  # [64, 64, 3] in [0, 1]
    rgb = (out * 255).astype(int)
    corners = np.concatenate([rgb[:4, :4].reshape(-1, 3), rgb[-4:, -4:].reshape(-1, 3)])
    assert corners.min() > 200, "the background is not white"
    red = (rgb[..., 0] > rgb[..., 1] + 60) & (rgb[..., 0] > rgb[..., 2] + 60)
    assert red.mean() > 0.05, "no red object"
    inner = ndimage.binary_erosion(red, iterations=2)  # off the anti-aliased rim
    low, high = np.percentile(rgb[..., 0][inner], [5, 95])
    assert high - low > 15, "the red object is flat, not shaded"  # the flat-icon prior's red cube: 3-4


def test_embedded_means_the_tasks_own_prior(object_path):
    assert resolve_model("embedded", OBJECTS) == str(object_path)
    assert resolve_model("embedded", ICONS) == str(embedded_prior_path(ICONS))
    assert resolve_model("embedded-objects") == str(object_path)  # named: for any task
    assert resolve_model("embedded-icons", OBJECTS) == str(embedded_prior_path(ICONS))
    assert resolve_model("some/folder", OBJECTS) == "some/folder"


def test_its_vocabulary_is_what_its_unet_learnt():
    """The object prior's tokenizer still holds the shapes grammar of its warm start ('star'), which its UNet never
    learnt: the domain note must go by the words of its captions (caption_words.json)."""
    objects, icons = vocabulary(OBJECTS), vocabulary(ICONS)
    assert {"torus", "cube", "overhead", "below"} <= objects.words and "star" not in objects.words
    assert "star" in icons.words and "torus" not in icons.words


def test_halving_a_unet_keeps_its_predictions(tiny_folders, tmp_path):
    """--half-unet / --halve: half the bytes on disk, the same noise predictions once loaded back in fp32."""
    import json
    import shutil

    import torch

    from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
    from dreamsampler3d.priors.training.train_prior import main as train_prior

    folder = shutil.copytree(tiny_folders["sd1"], tmp_path / "p")
    (folder / "training_info.json").write_text(json.dumps({"n_views": 10, "shape_fraction": 0}))
    weights = next((folder / "unet").glob("*.safetensors"))
    before_bytes = weights.stat().st_size
    z = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    full = DiffusionPrior.from_pretrained(str(folder))
    eps_full = full.eps(z, 500, [full.encode_text("a red cube")] * 2)
    (folder / "README.md").write_text("# card\n\n## Measured quality\n\n| a measured table |\n\n## Intended use\n")
    assert train_prior(["--halve", str(folder)]) == 0
    assert next((folder / "unet").glob("*.safetensors")).stat().st_size < 0.6 * before_bytes
    assert "| a measured table |" in (folder / "README.md").read_text()  # the card is rewritten, its table kept
    assert json.loads((folder / "training_info.json").read_text())["unet_storage"] == "fp16"
    half = DiffusionPrior.from_pretrained(str(folder))
    assert half.unet.dtype == torch.float32
    eps_half = half.eps(z, 500, [half.encode_text("a red cube")] * 2)
    assert float((eps_half - eps_full).norm() / eps_full.norm()) < 1e-2


@pytest.mark.slow
def test_text_to_3d_runs_on_the_object_prior_and_generate_on_the_icon_prior(tmp_path, capsys):
    """'torus' is a word of the object prior's captions and not of the icon prior's: the domain note (read from the
    prior a run loaded) tells which prior each task took."""
    fast = ["inner_steps=1", "render_size=8", "mesh_resolution=32", "orbit_frames=2", "views_per_step=1"]
    assert main(["text-to-3d", "--prompt", "a red torus", "--steps", "1", "--out", str(tmp_path / "3d"),
                 "--no-progress", *fast]) == 0
    assert "does not know" not in capsys.readouterr().err
    assert (tmp_path / "3d" / "mesh.glb").is_file()
    assert main(["generate", "--prompt", "a red torus", "--steps", "2", "--out", str(tmp_path / "2d"),
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "does not know 'torus'" in err
    assert np.asarray(Image.open(tmp_path / "2d" / "result.png")).shape == (64, 64, 3)
