"""Tasks end to end on a GPU (skipped without one). These caught a bare 'cuda' device handed to Lightning
and a CPU noise generator used to draw on the GPU; CPU-only runs cannot show either."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dreamsampler3d.cli.main import main

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _result(argv, out) -> np.ndarray:
    assert main([*argv, "--out", str(out), "--no-progress", "--steps", "4", "prior.device=cuda"]) == 0
    return np.asarray(Image.open(out / "result.png"))


def test_generate_with_fresh_noise_on_cuda(tiny_folders, tmp_path):
    img = _result(["generate", "--model", tiny_folders["sd1"], "--prompt", "a red star", "sampler.eta=0.5"], tmp_path / "g")
    assert img.shape == (32, 32, 3) and img.std() > 0


def test_text_to_3d_on_cuda(tiny_folders, tmp_path):
    img = _result(["text-to-3d", "--model", tiny_folders["sd1"], "--prompt", "a red circle", "render_size=16"], tmp_path / "t")
    assert img.std() > 0 and (tmp_path / "t" / "mesh.glb").is_file()
