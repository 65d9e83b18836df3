"""edit-svg on SVGs as people draw them: stroked line icons with round caps and joins, non-square viewBoxes,
hostile self-crossing paths; and the edit plan that decides which input shapes keep their geometry."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from dreamsampler3d.cli.main import main
from dreamsampler3d.errors import UserError
from dreamsampler3d.generators.svg import SVGConfig
from dreamsampler3d.generators.svg_from_scene import generator_from_scene
from dreamsampler3d.generators.svg_init import generator_from_image
from dreamsampler3d.generators.svg_regions import plan_edit
from dreamsampler3d.renderers.svg.svg_export import save_svg
from dreamsampler3d.renderers.svg.svg_io import load_svg
from dreamsampler3d.tasks.edit_svg import merged
from helpers import OPENMOJI_HEART, cairo

# a line icon in the style of Feather / Lucide: 2-unit round-capped, round-joined strokes, no fill
LINE_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="24" height="24"><path fill="none" '
             'stroke="#d01010" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
             'd="M12 20 L4 12 C1 9 3 4 7.5 4 C9.5 4 11 5.5 12 7 C13 5.5 14.5 4 16.5 4 C21 4 23 9 20 12 Z M9 13 h6"/>'
             '</svg>')
# a 448 x 512 silhouette (Font Awesome's proportions)
TALL_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 448 512"><path fill="#101010" '
             'd="M224 96 C330 60 440 150 420 300 C400 440 300 510 224 480 C150 510 40 440 28 300 C10 150 120 60 224 96 Z'
             'M210 90 C200 40 230 10 260 0 L270 20 C240 40 230 60 236 90 Z"/></svg>')


def _cairo(svg: str, width: int, height: int) -> np.ndarray:
    return cairo(svg, width, height).astype(np.float64)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / max(np.mean((a - b) ** 2), 1e-12)))


def test_round_capped_strokes_become_their_exact_outline():
    """Round caps and joins are conics in Skia; the outline must still be resolved, and paint what cairosvg
    paints for the stroke."""
    gen = generator_from_scene(load_svg(LINE_ICON), SVGConfig(), 96)
    ours = gen.render(samples=2)[0].permute(1, 2, 0).detach().numpy() * 255
    assert _psnr(ours, _cairo(LINE_ICON, 96, 96)) > 30


def test_non_square_document_sits_on_a_canvas_the_prior_takes():
    """448 x 512: both canvas sides multiples of the prior's factor, the document centred and unscaled in aspect."""
    gen = generator_from_scene(load_svg(TALL_ICON), SVGConfig(), 64, multiple=16)
    assert gen.width % 16 == 0 and gen.height % 16 == 0
    ours = gen.render(samples=2)[0].permute(1, 2, 0).detach().numpy() * 255  # [64, 64, 3]
    ref = _cairo(TALL_ICON, 56, 64)  # the document at 56 x 64, centred with 4 px margins either side
    assert _psnr(ours[:, 4:60], ref) > 30 and ours[:, :3].min() > 250 and ours[:, 61:].min() > 250


def test_edit_svg_runs_on_stroked_and_non_square_icons(tiny_folders, tmp_path):
    for name, text in (("line.svg", LINE_ICON), ("tall.svg", TALL_ICON)):
        (tmp_path / name).write_text(text)
        out = tmp_path / name.replace(".svg", "")
        assert main(["edit-svg", "--model", tiny_folders["sd1"], "--svg", str(tmp_path / name), "--prompt",
                     "a blue heart", "--steps", "4", "--out", str(out), "--no-progress", "output_size=64"]) == 0
        assert (out / "result.svg").read_text().count("<path") >= 1


def test_self_crossing_path_is_refused_before_skia_works_on_it(capsys, tmp_path, monkeypatch):
    rng = random.Random(0)
    d = "M 50 50 " + " ".join("C " + " ".join(f"{rng.uniform(0, 100):.1f}" for _ in range(6)) for _ in range(400))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><path fill="#000" d="{d} Z"/></svg>'
    import pathops

    simplified = []  # Skia's simplify is the costly work (seconds for this path): the refusal must come before it
    simplify = pathops.simplify
    monkeypatch.setattr(pathops, "simplify", lambda *a, **k: simplified.append(1) or simplify(*a, **k))
    with pytest.raises(UserError, match="crosses itself"):
        generator_from_scene(load_svg(svg), SVGConfig(), 64)
    assert not simplified, "pathops.simplify ran before the refusal"
    (tmp_path / "bad.svg").write_text(svg)
    code = main(["edit-svg", "--svg", str(tmp_path / "bad.svg"), "--prompt", "x", "--out", str(tmp_path / "o"),
                 "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "crosses itself" in err, err


TWO = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#fff"/>'
       '<circle cx="18" cy="32" r="12" fill="#e02020"/><rect x="36" y="20" width="22" height="24" fill="#2040e0"/>'
       '</svg>')


def _picture(svg: str) -> torch.Tensor:
    """cairosvg's render of an SVG as a [1, 3, 64, 64] picture in [-1, 1] (the edit estimate stand-in)."""
    return torch.from_numpy(_cairo(svg, 64, 64) / 127.5 - 1).permute(2, 0, 1).unsqueeze(0).float()


def _replan(svg: str, edit: str):
    """The plan for an estimate drawn as ``edit``, the input ``svg`` reconstructed exactly ->
    (source, picture, edited, plan)."""
    source = generator_from_scene(load_svg(svg), SVGConfig(), 64)
    picture = _picture(edit)
    edited = generator_from_image(picture, SVGConfig())
    return source, picture, edited, plan_edit(source, picture, edited, 0.15, reference=_picture(svg))


def _gap(gen, picture: torch.Tensor) -> float:
    """Mean over pixels of the largest channel difference between a generator's render and the picture."""
    got = gen.render()[0].permute(1, 2, 0).detach().numpy()  # [64, 64, 3]
    want = picture[0].permute(1, 2, 0).numpy() * 0.5 + 0.5
    return float(np.abs(got - want).max(axis=2).mean())


@pytest.mark.parametrize("edit, kept, recoloured, added", [
    (TWO.replace("#e02020", "#20c020"), [1], [0], 0),  # circle recoloured, square untouched, nothing added
    (TWO.replace('fill="#2040e0"', 'fill="#ffffff"'), [0], [], 0),  # square painted over: removed
    (TWO.replace("</svg>", '<path d="M30 60 L46 48 L62 60 Z" fill="#f0d000"/></svg>'), [0, 1], [], 1),  # added
    (TWO.replace("</svg>", '<rect x="40" y="24" width="12" height="14" fill="#d8dce8"/></svg>'), [0, 1], [], 0),
    # a pale blotch inside a kept shape (what a small prior's estimate shows) is not a new shape
])
def test_edit_plan_keeps_recolours_removes_and_adds(edit, kept, recoloured, added):
    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    picture = _picture(edit)
    plan = plan_edit(source, picture, generator_from_image(picture, SVGConfig()), 0.15)
    assert sorted(plan.kept) == kept and sorted(plan.recoloured) == recoloured and len(plan.added) == added
    for k in recoloured:
        assert np.allclose(plan.recoloured[k].numpy(), [0x20 / 255, 0xC0 / 255, 0x20 / 255], atol=0.03)



@pytest.mark.parametrize("shown_square, recoloured", [
    ("#2040e0", [0, 1]),  # the prior shows both shapes as they are: both recolours are the edit's
    ("#e07020", [0]),  # the prior already shows the square in another colour: the edit's colour there is no evidence
    ("#102070", [0, 1]),  # ... in a darker shade of its own blue (a thin ring between outlines comes back so): evidence
])
def test_edit_plan_keeps_what_the_prior_cannot_show(shown_square, recoloured):
    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    picture = _picture(TWO.replace("#e02020", "#20c020").replace("#2040e0", "#20c020"))  # both painted green
    reference = _picture(TWO.replace("#2040e0", shown_square))  # the input as the prior reconstructs it
    plan = plan_edit(source, picture, None, 0.15, reference=reference)
    assert sorted(plan.recoloured) == recoloured and sorted(plan.kept) == sorted({0, 1} - set(recoloured))


@pytest.mark.parametrize("edit, moved", [
    (TWO.replace('<circle cx="18" cy="32" r="12" fill="#e02020"/>',
                 '<rect x="6" y="20" width="24" height="24" fill="#e02020"/>'), True),  # the circle became a square
    (TWO.replace('<circle cx="18" cy="32" r="12" fill="#e02020"/>',
                 '<rect x="6" y="20" width="24" height="24" fill="#20c020"/>'), True),  # ... a green square
    (TWO.replace("#e02020", "#20c020"), False),  # only its colour changed: recoloured in place
])
def test_edit_plan_redraws_a_shape_whose_outline_the_edit_moved(edit, moved):
    """A shape edit: the edit paints the circle's colour beyond its outline (where the prior's reconstruction of
    the input does not), so the edit's own shape takes the circle's layer; the untouched square stays."""
    source, picture, edited, plan = _replan(TWO, edit)
    assert (0 in plan.kept or 0 in plan.recoloured) != moved and (0 in plan.replaced) == moved
    assert sorted(plan.kept) == [1] and not plan.added
    gen, kept, pinned = merged(source, edited, plan)
    assert len(gen.layout) == 2 and kept == [1] and pinned == ([1] if moved else [0, 1])
    assert _gap(gen, picture) < 0.005  # the edit's shape in the circle's place; the unedited circle: 0.027


OUTLINED = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
            '<rect x="14" y="14" width="36" height="36" fill="#e02020" stroke="#000000" stroke-width="2"/></svg>')


@pytest.mark.parametrize("edit, kept, recoloured", [
    (OUTLINED.replace("#e02020", "#2040e0").replace("#000000", "#2040e0"), [1], [0]),
    # the 2 px outline shows blue in the estimate: too thin to read at 64 px, so it keeps its black
    (OUTLINED.replace("</svg>", '<rect x="14" y="14" width="12" height="36" fill="#20c020"/>'
                      '<rect x="26" y="14" width="12" height="36" fill="#2040e0"/>'
                      '<rect x="38" y="14" width="12" height="36" fill="#f0d000"/></svg>'), [0, 1], []),
    # the fill smeared into three colours: no one colour repainted it, so it keeps its fill
])
def test_edit_plan_leaves_thin_and_smeared_regions(edit, kept, recoloured):
    source = generator_from_scene(load_svg(OUTLINED), SVGConfig(), 64)
    assert len(source.layout) == 2  # the fill, then the stroke's outline
    picture = _picture(edit)
    plan = plan_edit(source, picture, generator_from_image(picture, SVGConfig()), 0.15)
    assert sorted(plan.kept) == kept and sorted(plan.recoloured) == recoloured and not plan.added


@pytest.mark.slow
def test_restore_svg_fits_a_64px_input_at_its_own_resolution(tmp_path):
    """sr4 of a 64 px picture: the SVG must explain the 64 px measurement (a 256 px picture), not a 16 px copy of
    it. On the embedded prior, the result at 256 px is closer to the clean render than bicubic up-sampling."""
    from dreamsampler3d.data.icons import make_scene, render_scene
    from dreamsampler3d.io.images import psnr

    scene = make_scene([("red", "star", "top left"), ("blue", "circle", "bottom right")], "white", jitter_seed=3)
    clean = render_scene(scene, 256)
    small = Image.fromarray(clean).resize((64, 64), Image.BOX)
    small.save(tmp_path / "in.png")
    out = tmp_path / "o"
    assert main(["restore-svg", "--image", str(tmp_path / "in.png"), "--degradation", "sr4", "--steps", "20",
                 "--out", str(out), "--no-progress"]) == 0
    ours = _cairo((out / "result.svg").read_text(), 256, 256).astype(np.uint8)
    bicubic = np.asarray(small.resize((256, 256), Image.BICUBIC))
    assert psnr(ours, clean) > psnr(bicubic, clean), (psnr(ours, clean), psnr(bicubic, clean))


def test_edit_plan_takes_the_fills_only_edits_colours():
    """With the colours of the fills-only edit: a region the estimate smeared (three colours) is recoloured to the
    given colour, exactly; one it repainted in one colour takes that colour; a shape painted over with the
    background stays unless its given colour is the background too (a small prior's estimate smears whole shapes
    pale)."""
    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    fills = source.fills[:, :3].detach().clone()
    fills[0] = torch.tensor([0.1, 0.2, 0.9])  # the circle blue, the square as it was
    smeared = _picture(TWO.replace("</svg>", '<rect x="6" y="20" width="8" height="24" fill="#20c020"/>'
                                   '<rect x="14" y="20" width="8" height="24" fill="#f0d000"/>'
                                   '<rect x="22" y="20" width="8" height="24" fill="#f080f0"/></svg>'))
    plan = plan_edit(source, smeared, None, 0.15, fills=fills)
    assert sorted(plan.recoloured) == [0] and sorted(plan.kept) == [1]
    assert torch.equal(plan.recoloured[0], fills[0])
    repainted = plan_edit(source, _picture(TWO.replace("#e02020", "#20c020")), None, 0.15, fills=fills)
    assert np.allclose(repainted.recoloured[0].numpy(), [0x20 / 255, 0xC0 / 255, 0x20 / 255], atol=0.03)
    white = _picture(TWO.replace('fill="#2040e0"', 'fill="#ffffff"'))  # the square painted over
    assert sorted(plan_edit(source, white, None, 0.15, fills=fills).kept) == [0, 1]  # the square stays
    fills[1] = source.background.detach()[:3]  # ... and the fills-only edit paints it white too: removed
    plan = plan_edit(source, white, None, 0.15, fills=fills)
    assert 1 not in plan.kept and 1 not in plan.recoloured


def test_a_half_way_repaint_gives_way_to_a_saturated_fills_only_colour():
    """The circle repainted uniformly in a pale pink (the free edit stopped half-way from red): a clearly more
    saturated fills-only blue wins. Repainted a saturated green, a dull fills-only teal does not (the blend a
    fills-only edit makes of a two-colour prompt), nor does a blue the picture left alone (the square). Washed out
    to the pink while the fills-only edit kept its red, the circle keeps its red (an OpenMoji timer's yellow ring,
    asked for 'a blue timer', came back pale pink)."""
    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    fills = source.fills[:, :3].detach().clone()
    fills[0] = torch.tensor([0.1, 0.2, 0.95])
    pale = _picture(TWO.replace("#e02020", "#f0b8d0"))
    plan = plan_edit(source, pale, None, 0.15, fills=fills, half_way_chroma=0.2)
    assert torch.equal(plan.recoloured[0], fills[0]) and plan.kept == [1]
    without = plan_edit(source, pale, None, 0.15, fills=fills)  # the rule off: the picture's pink stays
    assert np.allclose(without.recoloured[0].numpy(), [0xF0 / 255, 0xB8 / 255, 0xD0 / 255], atol=0.03)
    fills[0] = torch.tensor([0x29 / 255, 0x3F / 255, 0x4A / 255])
    fills[1] = torch.tensor([0.0, 1.0, 0.0])  # a fills-only edit that would also turn the square green
    green = plan_edit(source, _picture(TWO.replace("#e02020", "#20c020")), None, 0.15, fills=fills, half_way_chroma=0.2)
    assert np.allclose(green.recoloured[0].numpy(), [0x20 / 255, 0xC0 / 255, 0x20 / 255], atol=0.03)
    assert green.kept == [1]
    unmoved = source.fills[:, :3].detach().clone()  # the fills-only edit left both shapes as they came
    washed = plan_edit(source, pale, None, 0.15, fills=unmoved, half_way_chroma=0.2)
    assert sorted(washed.kept) == [0, 1]  # the picture washed the red out, the fills-only edit kept it: no edit
    black = plan_edit(source, _picture(TWO.replace("#e02020", "#202020")), None, 0.15, fills=unmoved,
                      half_way_chroma=0.2)
    assert 0 in black.recoloured  # painted black (no chroma, but not towards white): the edit's colour


CRESCENT = TWO.replace('<rect x="36" y="20" width="22" height="24" fill="#2040e0"/>',
                       '<circle cx="46" cy="32" r="11" fill="#2040e0"/><circle cx="51" cy="29" r="9" fill="#fff"/>')
THIN_STAR = TWO.replace('<circle cx="18" cy="32" r="12" fill="#e02020"/>',
                        '<path fill="#e02020" d="M18 22 L20.5 29 L28 29 L22 33.5 L24 41 L18 36.5 L12 41 L14 33.5 L8 29 '
                        'L15.5 29 Z"/>')
RING_TO_STAR = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#fff"/>'
                '<circle cx="32" cy="32" r="12" fill="none" stroke="#8030b0" stroke-width="4"/>'
                '<rect x="4" y="4" width="12" height="12" fill="#f080c0"/></svg>')


@pytest.mark.parametrize("edit, gives_way, stays", [
    (CRESCENT, 1, 0),  # the square becomes a crescent a third its size, in its place
    (THIN_STAR, 0, 1),  # the circle becomes a thin star covering 29 % of it
])
def test_a_standing_alone_shape_gives_way_to_a_smaller_one_in_its_place(edit, gives_way, stays):
    """A shape standing alone whose outline the edit moved gives way to the edited shape in its place even when
    that covers only a fifth of it (a square asked to become a crescent); the other shape keeps its geometry."""
    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    picture = _picture(edit)
    plan = plan_edit(source, picture, generator_from_image(picture, SVGConfig()), 0.15, reference=_picture(TWO))
    assert list(plan.replaced) == [gives_way] and plan.kept == [stays] and not plan.recoloured and not plan.added


def test_the_silhouette_judge_is_colour_blind_and_only_for_shapes_standing_alone():
    """silhouette_kept: a recoloured square keeps its silhouette (IoU 1 whatever the colour); a square turned into a
    crescent does not. isolated: the two shapes of TWO stand alone; an OpenMoji fill under its 2 px outline does
    not (its region would lose its exact geometry to any smear)."""
    from dreamsampler3d.generators.svg_regions import as_picture, coverages, isolated, silhouette_kept, visible

    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    seen = visible(coverages(source, 64, 64)).numpy()
    back, ref = source.background.detach().numpy(), as_picture(_picture(TWO))
    green = as_picture(_picture(TWO.replace("#2040e0", "#20c020")))
    assert silhouette_kept(green, ref, seen[1], back, 0.15) > 0.95
    assert silhouette_kept(as_picture(_picture(CRESCENT)), ref, seen[1], back, 0.15) < 0.6
    cover = coverages(source, 64, 64).numpy()
    assert isolated(cover, 0) and isolated(cover, 1)
    heart = generator_from_scene(load_svg(OPENMOJI_HEART), SVGConfig(), 64)
    assert not isolated(coverages(heart, 64, 64).numpy(), 0)
    hairline = TWO.replace("</svg>", '<rect x="31.5" y="20" width="0.3" height="24" fill="#000"/></svg>')  # 1.5 px
    # right of the circle, covering any pixel by 0.3 at most: a neighbour however thin
    cover = coverages(generator_from_scene(load_svg(hairline), SVGConfig(), 64), 64, 64).numpy()
    assert 0.02 < cover[2].max() < 0.5 and not isolated(cover, 0) and isolated(cover, 1)

def test_a_shape_painted_over_gives_way_to_what_the_edit_drew_in_its_place():
    """A ring asked to become a star: the estimate paints the ring's band with the background (removed) and draws
    a star inside it, smaller than an added shape must be; the star takes the ring's place (its disc)."""
    star = RING_TO_STAR.replace('<circle cx="32" cy="32" r="12" fill="none" stroke="#8030b0" stroke-width="4"/>',
                                '<path fill="#8030b0" d="M32.0 19.0 L35.5 27.1 L44.4 28.0 L37.7 33.9 L39.6 42.5 L32.0'
                                ' 38.0 L24.4 42.5 L26.3 33.9 L19.6 28.0 L28.5 27.1 Z"/>')
    _, _, edited, plan = _replan(RING_TO_STAR, star)
    assert list(plan.replaced) == [0] and plan.kept == [1], plan
    fill = edited.fills[plan.replaced[0], :3].detach().numpy()
    assert np.allclose(fill, [0x80 / 255, 0x30 / 255, 0xB0 / 255], atol=0.1)




def _hue_of(rgb) -> tuple[float, float, float]:
    import colorsys

    h, sat, v = colorsys.rgb_to_hsv(*[float(c) for c in rgb])
    return h * 360, sat, v


@pytest.mark.slow
def test_fills_only_edit_turns_an_outlined_icon_blue(tmp_path):
    """On the embedded prior: the fills-only trajectory (tasks/recolour.py) asked for 'a blue heart' on a red
    OpenMoji-style heart takes the fill to a saturated blue (hue 190-260) and leaves the 2 px black outline, which
    the prior cannot show at 64 px, exactly as it was."""
    from dreamsampler3d.config import build_config
    from dreamsampler3d.priors.diffusion_prior import DiffusionPrior
    from dreamsampler3d.priors.embedded import ICONS, resolve_model
    from dreamsampler3d.tasks.prepare import build_task, read_inputs

    (tmp_path / "in.svg").write_text(OPENMOJI_HEART)
    cfg = build_config("edit-svg", None, [], {"svg_file": str(tmp_path / "in.svg"), "prompt": "a blue heart",
                                             "run": {"steps": 20, "seed": 0, "out": str(tmp_path / "o")}})
    image, _ = read_inputs("edit-svg", cfg)
    task, _, _ = build_task("edit-svg", cfg, DiffusionPrior.from_pretrained(resolve_model("embedded", ICONS)), image)
    task.state = task.initial_state()
    for i in range(20):
        task.recolouring().step(task.state, i)
    fills = task.recolouring().colours(task.state)  # [2, 3]: the heart's fill, the outline
    h, sat, v = _hue_of(fills[0])
    assert 190 <= h <= 260 and sat > 0.3 and v > 0.25, fills[0]
    assert torch.equal(fills[1], task.source.fills[1, :3].detach())


@pytest.mark.slow
def test_edit_svg_on_an_outlined_icon_keeps_its_outline(tmp_path):
    """On the embedded prior, end to end: 'a blue heart' for the red heart turns the fill blue, adds no path, and
    the black outline is byte for byte what exporting the input gives. (The free edit alone repaints the heart a
    uniform purple, #c768bc: it stops half-way, and the saturated colour of the fills-only edit must win.)"""
    import re

    from dreamsampler3d.renderers.svg.svg_export import save_svg

    (tmp_path / "in.svg").write_text(OPENMOJI_HEART)
    out = tmp_path / "e"
    assert main(["edit-svg", "--svg", str(tmp_path / "in.svg"), "--prompt", "a blue heart", "--steps", "20",
                 "--out", str(out), "--no-progress"]) == 0
    text = (out / "result.svg").read_text()
    exported = save_svg(generator_from_scene(load_svg(OPENMOJI_HEART), SVGConfig(), 64).scene(), size=512,
                        decimals=1)
    paths = re.findall(r"<path [^>]*>", exported)  # background, fill, outline
    assert paths[2] in text and text.count("<path") == exported.count("<path")
    fill = re.findall(r'fill="#([0-9a-f]{6})"', re.findall(r"<path [^>]*>", text)[1])[0]
    h, _, _ = _hue_of([int(fill[i:i + 2], 16) / 255 for i in (0, 2, 4)])
    assert 190 <= h <= 260, fill  # the input's red is at 6 degrees


@pytest.mark.slow
def test_the_edit_svg_help_example_greens_the_circle_and_keeps_the_square(tmp_path):
    """--help's own example on the embedded prior, at its default 50 steps: the red circle comes back green (hue
    90-160) and the blue square, which the prompt leaves blue, keeps its bytes. (Worded "a green circle and a blue
    square", the prior painted the square green as well, before and after the fills-only edit.)"""
    import re

    from dreamsampler3d.cli import catalogue

    assert main(["samples", str(tmp_path / "samples")]) == 0
    example = next(e for e in catalogue.task("edit-svg")["examples"] if "--svg" in e)
    prompt = re.search(r'--prompt "([^"]+)"', example).group(1)
    source = (tmp_path / "samples" / "two-shapes.svg").read_text()
    out = tmp_path / "out"
    assert main(["edit-svg", "--svg", str(tmp_path / "samples" / "two-shapes.svg"), "--prompt", prompt, "--out",
                 str(out), "--no-progress"]) == 0
    text = (out / "result.svg").read_text()
    exported = save_svg(generator_from_scene(load_svg(source), SVGConfig(), 64).scene(), size=512, decimals=1)
    assert re.findall(r"<path [^>]*>", exported)[2] in text  # the square
    fills = re.findall(r'fill="#([0-9a-f]{6})"', text)
    assert len(fills) == 3, fills
    h, sat, _ = _hue_of([int(fills[1][i:i + 2], 16) / 255 for i in (0, 2, 4)])
    assert 90 <= h <= 160 and sat > 0.3, fills[1]


def test_an_outlined_fill_keeps_its_geometry_where_the_estimate_spills_past_its_outline():
    """'A blue heart' on an OpenMoji heart: the estimate paints the fill blue and spills the blue past the outline
    (the blossom's leaf at 64 px). The fill shares its border with the outline, which stays, so it is recoloured in
    place: not redrawn from the spill, and the spill is not added over it."""
    spill = OPENMOJI_HEART.replace('fill="#ea5a47"', 'fill="#2040e0"').replace(
        '</svg>', '<ellipse cx="16" cy="36" rx="14" ry="16" fill="#2040e0"/></svg>')  # over the outline too
    plan = _replan(OPENMOJI_HEART, spill)[3]
    assert not plan.replaced and not plan.added and plan.kept == [1] and list(plan.recoloured) == [0], plan
    assert np.allclose(plan.recoloured[0].numpy(), [0x20 / 255, 0x40 / 255, 0xE0 / 255], atol=0.05)


OUTLINED_DOT = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#fff"/>'
                '<circle cx="22" cy="22" r="10" fill="#e02020" stroke="#000" stroke-width="2"/></svg>')


def test_an_added_shape_hides_no_shape_the_edit_keeps():
    """A yellow blob drawn mostly on the background (71 %) but over 29 % of an outlined dot and of its outline (what
    a smeared estimate leaves): the dot is shown in place, so the blob is not added over it. The same blob clear of
    the dot is added."""
    for blob, added in (('<ellipse cx="34" cy="28" rx="12" ry="10" fill="#f0d000"/>', []),
                        ('<ellipse cx="44" cy="48" rx="12" ry="10" fill="#f0d000"/>', [0])):
        _, _, edited, plan = _replan(OUTLINED_DOT, OUTLINED_DOT.replace("</svg>", blob + "</svg>"))
        assert sorted(plan.kept) == [0, 1] and not plan.replaced and not plan.recoloured, plan
        assert [tuple(edited.fills[j, :3].detach().numpy().round(1)) for j in plan.added] == \
            [(0.9, 0.8, 0.0)] * len(added), plan


THIN_CRESCENT = TWO.replace('<rect x="36" y="20" width="22" height="24" fill="#2040e0"/>',
                            '<path fill="#2040e0" d="M47 21 A11 11 0 1 0 47 43 A13 13 0 0 1 47 21 Z"/>')


def test_a_thin_shape_gives_way_to_a_larger_one_drawn_over_it():
    """A thin crescent asked to become a heart: the estimate draws a heart over it in its colour, most of the heart
    off the crescent's place. Covering most of that place, the heart takes the crescent's layer; nothing is left of
    the crescent, and the circle keeps its geometry."""
    heart = THIN_CRESCENT.replace('<path fill="#2040e0" d="M47 21 A11 11 0 1 0 47 43 A13 13 0 0 1 47 21 Z"/>',
                                  '<path fill="#2040e0" d="M47 48 C37 40 32 35 32 28 C32 22 38 18 42 20 C44 21 46 23 '
                                  '47 25 C48 23 50 21 52 20 C56 18 62 22 62 28 C62 35 57 40 47 48 Z"/>')
    source, picture, edited, plan = _replan(THIN_CRESCENT, heart)
    assert list(plan.replaced) == [1] and plan.kept == [0] and not plan.added, plan
    assert _gap(merged(source, edited, plan)[0], picture) < 0.01


ON_A_CARD = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#fff"/>'
             '<rect x="6" y="6" width="52" height="52" rx="8" fill="#c8c8c8"/><circle cx="32" cy="32" r="11" '
             'fill="#e02020"/></svg>')


def test_a_shape_on_a_card_can_still_be_reshaped():
    """A red circle on a grey card (a badge, an app tile) asked to become a square: the card is painted before the
    circle, so the circle is not an outlined fill and gives way to the square the edit drew; the card stays."""
    square = ON_A_CARD.replace('<circle cx="32" cy="32" r="11" fill="#e02020"/>',
                               '<rect x="21" y="21" width="22" height="22" fill="#e02020"/>')
    source, picture, edited, plan = _replan(ON_A_CARD, square)
    assert list(plan.replaced) == [1] and plan.kept == [0] and not plan.added, plan
    assert _gap(merged(source, edited, plan)[0], picture) < 0.01


def test_a_speck_does_not_keep_a_shape_from_being_added():
    """A 1.2 px dot, too small for the picture to show (kept as it came), under a yellow blob drawn on the
    background: hiding a speck is not hiding a shape, so the blob is added."""
    speck = OUTLINED_DOT.replace("</svg>", '<circle cx="46" cy="48" r="1.2" fill="#2040e0"/></svg>')
    _, _, edited, plan = _replan(speck, speck.replace(
        "</svg>", '<ellipse cx="44" cy="48" rx="12" ry="10" fill="#f0d000"/></svg>'))
    assert sorted(plan.kept) == [0, 1, 2] and not plan.replaced and not plan.recoloured, plan
    assert [tuple(edited.fills[j, :3].detach().numpy().round(1)) for j in plan.added] == [(0.9, 0.8, 0.0)], plan


BESIDE = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" fill="#fff"/>'
          '<rect x="6" y="14" width="26" height="36" fill="#909090" stroke="#000" stroke-width="2"/>'
          '<circle cx="47" cy="32" r="9" fill="#e02020"/></svg>')


@pytest.mark.parametrize("left, replaced", [(30, True), (22, False)])
def test_a_taker_hides_no_shape_kept_below_its_layer(left, replaced):
    """A red circle beside an outlined grey card, asked to become a wide bar: a bar clear of the card takes the
    circle's layer; one reaching over a quarter of the card (which the picture still shows in place, drawn below the
    circle's layer) would hide it, so the circle stays as it was."""
    bar = BESIDE.replace('<circle cx="47" cy="32" r="9" fill="#e02020"/>',
                         f'<rect x="{left}" y="20" width="{58 - left}" height="24" fill="#e02020"/>')
    plan = _replan(BESIDE, bar)[3]
    assert (list(plan.replaced) == [2]) == replaced and sorted(plan.kept) == ([0, 1] if replaced else [0, 1, 2])
    assert not plan.added and not plan.recoloured, plan


def test_a_shape_standing_alone_repainted_in_the_background_colour_is_removed():
    """The square repainted in one colour that is the background's (60 % near-white, the rest pink: not enough to
    count as painted over): standing alone, it would be an invisible path, so it is removed. An outlined fill
    repainted the same way is a white fill inside its outline, and is recoloured."""
    source = generator_from_scene(load_svg(TWO), SVGConfig(), 64)
    pale = TWO.replace('<rect x="36" y="20" width="22" height="24" fill="#2040e0"/>',
                       '<rect x="36" y="20" width="22" height="14.4" fill="#f2f2f2"/>'
                       '<rect x="36" y="34.4" width="22" height="9.6" fill="#f080c0"/>')
    plan = plan_edit(source, _picture(pale), None, 0.15)
    assert plan.kept == [0] and not plan.recoloured and not plan.replaced, plan
    outlined = generator_from_scene(load_svg(OUTLINED), SVGConfig(), 64)
    inside = OUTLINED.replace("</svg>", '<rect x="15" y="15" width="34" height="20.4" fill="#f2f2f2"/>'
                              '<rect x="15" y="35.4" width="34" height="13.6" fill="#f080c0"/></svg>')
    plan = plan_edit(outlined, _picture(inside), None, 0.15)
    assert list(plan.recoloured) == [0] and plan.kept == [1], plan
    assert np.allclose(plan.recoloured[0].numpy(), 0xF2 / 255, atol=0.03)
