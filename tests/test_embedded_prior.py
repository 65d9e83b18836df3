"""The embedded icon prior: loads in stock diffusers unchanged, is the default --model, and says once when a
prompt is outside its domain."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dreamsampler3d.cli.main import main
from dreamsampler3d.priors.embedded import embedded_prior_path


@pytest.fixture(scope="module")
def prior_path():
    path = embedded_prior_path()
    assert path is not None, "src/dreamsampler3d/assets/icon-prior is missing"
    return path


def test_stock_diffusers_loads_it_unchanged(prior_path):
    from diffusers import StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(prior_path, safety_checker=None)
    assert pipe.unet.config.sample_size * 4 == 64
    out = pipe("a red circle", num_inference_steps=5, height=64, width=64, output_type="np").images
    assert out.shape == (1, 64, 64, 3) and np.isfinite(out).all()


def test_default_model_and_domain_note(tmp_path, capsys):
    assert main(["generate", "--prompt", "a red circle", "--steps", "5", "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert "does not know" not in capsys.readouterr().err
    assert np.asarray(Image.open(tmp_path / "a" / "result.png")).shape == (64, 64, 3)
    assert main(["generate", "--prompt", "a photo of a dog", "--steps", "5", "--out", str(tmp_path / "b"),
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("does not know") == 1 and "'dog'" in err and "--model" in err
