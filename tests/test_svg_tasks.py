"""SVG generator and tasks: text-to-SVG (DreamSampler and SDS) and vectorisation, end to end from the CLI."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from dreamsampler3d.cli.main import main
from dreamsampler3d.generators.svg import SVGConfig, SVGGenerator
from dreamsampler3d.generators.svg_init import regions_to_paths
from dreamsampler3d.io.images import psnr

from helpers import icon


def _cairo(svg_path, size):
    import cairosvg

    png = cairosvg.svg2png(url=str(svg_path), output_width=size, output_height=size)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_generator_gradients_clamping_and_pruning():
    gen = SVGGenerator.random(SVGConfig(num_paths=8), 32, 32, torch.Generator().manual_seed(0))
    gen.render().mean().backward()
    assert gen.points.grad.abs().sum() > 0 and gen.fills.grad.abs().sum() > 0
    with torch.no_grad():
        gen.fills[0, 3] = 0.0  # invisible
        gen.points[1] = gen.points[1].mean(0)  # collapsed to a point
        gen.fills[2] = 3.0
    gen.clamp_()
    assert gen.fills.max() <= 1.0
    assert gen.prune_(torch.Generator().manual_seed(1)) == 2
    assert gen.fills[0, 3] == 1.0 and gen.areas()[1] > 1.0


def test_region_vectorisation_recovers_a_flat_icon(tmp_path):
    img = np.asarray(Image.open(icon(tmp_path / "in.png", 64, "red")))
    points, fills, background = regions_to_paths(img, 8, 12)
    assert points.shape[1:] == (36, 2)
    assert np.allclose(background, [1, 1, 1], atol=0.05) and torch.allclose(fills[0, :3], torch.tensor([1.0, 0, 0]), atol=0.05)
    gen = SVGGenerator(points, fills, SVGConfig(segments=12), 64, 64, tuple(background))
    rendered = (gen.render(samples=2)[0].permute(1, 2, 0).detach().numpy() * 255).round().astype(np.uint8)
    assert psnr(rendered, img) > 20


@pytest.mark.parametrize("method", ["dreamsampler", "sds"])
def test_text_to_svg_from_cli(tiny_folders, tmp_path, method):
    out = tmp_path / method
    assert main(["text-to-svg", "--model", tiny_folders["sd1"], "--prompt", "a red star", "--method", method,
                 "--steps", "4", "--out", str(out), "--no-progress", "svg.num_paths=6", "output_size=64"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (out / metrics["svg"]).is_file() and (out / metrics["video"]).is_file()
    ours = np.asarray(Image.open(out / "result.png").convert("RGB"))
    # the exported SVG renders in cairosvg like our own result.png
    assert psnr(_cairo(out / "result.svg", ours.shape[0]), ours) >= 30.0


def test_vectorize_improves_on_its_initialisation(tmp_path):
    image = icon(tmp_path / "in.png", 48, "blue")
    out = tmp_path / "v"
    assert main(["vectorize", "--image", str(image), "--steps", "40", "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["psnr_db"] > 25 and metrics["psnr_db"] > metrics["initial_psnr_db"] + 1.0
    svg = _cairo(out / "result.svg", 48)
    assert psnr(svg, np.asarray(Image.open(image).convert("RGB"))) > 22


@pytest.mark.parametrize("degradation", ["sr4", "sr8", "blur", "inpaint"])
def test_restore_svg_explains_the_measurement(tiny_folders, tmp_path, degradation):
    from helpers import box_mask

    image = icon(tmp_path / "in.png", 32, "red")
    src = image
    extra = []
    if degradation in ("sr4", "sr8"):
        f = int(degradation[2:])
        src = tmp_path / "lr.png"
        Image.open(image).resize((32 // f, 32 // f), Image.BOX).save(src)
    if degradation == "inpaint":
        extra = ["--mask", str(box_mask(tmp_path / "m.png", 32, (8, 8, 20, 20)))]
    out = tmp_path / degradation
    assert main(["restore-svg", "--model", tiny_folders["sd1"], "--image", str(src), "--degradation", degradation,
                 *extra, "--steps", "6", "--out", str(out), "--no-progress", "output_size=32"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["measurement_psnr_db"] > metrics["initial_measurement_psnr_db"]
    ours = np.asarray(Image.open(out / "result.png").convert("RGB"))
    assert ours.shape == (32, 32, 3)
    assert psnr(_cairo(out / "result.svg", 32), ours) >= 30.0


@pytest.mark.parametrize("method", ["vectorize", "two-stage"])
def test_restore_svg_baselines(tiny_folders, tmp_path, method):
    image = icon(tmp_path / "in.png", 32, "red")
    small = tmp_path / "lr.png"
    Image.open(image).resize((8, 8), Image.BOX).save(small)
    out = tmp_path / method
    assert main(["restore-svg", "--model", tiny_folders["sd1"], "--image", str(small), "--degradation", "sr4",
                 "--method", method, "--steps", "6", "--out", str(out), "--no-progress", "output_size=32"]) == 0
    assert (out / "result.svg").is_file() and (out / "result.png").is_file()
    if method == "two-stage":
        assert (out / "stage1-restore" / "result.png").is_file()


def test_imported_geometry_is_kept_exactly():
    """Lines and quadratics raised to cubics and split in half keep the shape: the generator's render of an
    imported icon matches cairosvg's render of the file."""
    from dreamsampler3d.data.icons import make_scene, render_scene, scene_svg
    from dreamsampler3d.generators.svg_from_scene import generator_from_scene
    from dreamsampler3d.renderers.svg.svg_io import load_svg

    for objects in ([("red", "star", None)], [("blue", "heart", None)],
                    [("red", "circle", "top left"), ("yellow", "triangle", "bottom right")]):
        scene = make_scene(objects, background="black")
        gen = generator_from_scene(load_svg(scene_svg(scene)), SVGConfig(), 64)
        ours = (gen.render(samples=2)[0].permute(1, 2, 0).detach().numpy() * 255).round().astype(np.uint8)
        assert psnr(ours, render_scene(scene)) > 40, objects


@pytest.mark.parametrize("method", ["dreamsampler", "dds", "pds"])
def test_edit_svg_from_cli(tiny_folders, tmp_path, method):
    from dreamsampler3d.data.icons import make_scene, scene_svg

    src = tmp_path / "star.svg"
    src.write_text(scene_svg(make_scene([("red", "star", None)])))
    out = tmp_path / method
    assert main(["edit-svg", "--model", tiny_folders["sd1"], "--svg", str(src), "--prompt", "a blue star",
                 "--method", method, "--steps", "4", "--out", str(out), "--no-progress", "output_size=32"]) == 0
    ours = np.asarray(Image.open(out / "result.png").convert("RGB"))
    assert psnr(_cairo(out / "result.svg", ours.shape[0]), ours) >= 30.0


def test_edit_svg_bad_inputs(tiny_folders, tmp_path, capsys):
    (tmp_path / "bad.svg").write_text("<svg><path d='M 0 0 L")
    (tmp_path / "empty.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>')
    for name, expect in (("bad.svg", "svg"), ("empty.svg", "no shapes")):
        code = main(["edit-svg", "--model", tiny_folders["sd1"], "--svg", str(tmp_path / name), "--prompt", "x",
                     "--out", str(tmp_path / "o"), "--no-progress"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and expect in err.lower(), err
        assert not (tmp_path / "o").exists()


def test_inpainting_guess_fills_holes_with_the_nearest_observed_pixel():
    """The SVG initialisation must not see holes as black shapes; checked against a brute-force nearest search."""
    from dreamsampler3d.sampler.operators import Mask
    from dreamsampler3d.tasks.restore_svg import first_guess

    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 12, 12, generator=g) * 2 - 1
    observed = torch.ones(1, 1, 12, 12)
    observed[..., 3:8, 2:6] = 0
    op = Mask(observed)
    guess = first_guess(op, op.forward(image), (12, 12))
    known = [(r, c) for r in range(12) for c in range(12) if observed[0, 0, r, c] > 0]
    for r in range(3, 8):
        for c in range(2, 6):
            d = min((r - kr) ** 2 + (c - kc) ** 2 for kr, kc in known)
            nearest = [(kr, kc) for kr, kc in known if (r - kr) ** 2 + (c - kc) ** 2 == d]
            assert any(torch.equal(guess[0, :, r, c], image[0, :, kr, kc]) for kr, kc in nearest)
    assert torch.equal(guess * observed, image * observed)
