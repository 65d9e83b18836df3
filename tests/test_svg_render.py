"""Rasteriser values: exact coverage, fill rules, compositing, batching and degenerate input."""

from __future__ import annotations

import math

import pytest
import torch

from dreamsampler3d.errors import UserError
from dreamsampler3d.renderers.svg import Path, Scene, Shape, circle, polygon, rect, render

RED = torch.tensor([1.0, 0.0, 0.0, 1.0])
BLUE = torch.tensor([0.0, 0.0, 1.0, 0.5])


def test_axis_aligned_square_exact_coverage():
    img = render(Scene(10, 10, [Shape([rect(2.25, 3.5, 4.0, 2.0)], fill=RED)]), 10)
    a = img[..., 3]
    assert a.sum().item() == pytest.approx(8.0, abs=1e-5)
    assert a[3, 2].item() == pytest.approx(0.75 * 0.5, abs=1e-6)  # corner pixel: 3/4 wide, 1/2 high
    assert a[4, 4].item() == pytest.approx(1.0, abs=1e-6)
    assert torch.allclose(img[..., 0], a)  # premultiplied red


def test_triangle_area_and_circle_area():
    tri = polygon(torch.tensor([[1.3, 1.1], [30.2, 5.7], [12.9, 27.4]]))
    img = render(Scene(32, 32, [Shape([tri], fill=RED)]), 32)
    area = 0.5 * abs((30.2 - 1.3) * (27.4 - 1.1) - (12.9 - 1.3) * (5.7 - 1.1))
    assert img[..., 3].sum().item() == pytest.approx(area, rel=1e-5)
    img = render(Scene(64, 64, [Shape([circle(32, 32, 20)], fill=RED)]), 64, tol=0.01)
    assert img[..., 3].sum().item() == pytest.approx(math.pi * 400, rel=2e-3)


def test_fill_rules_and_over_compositing():
    outer = rect(2, 2, 12, 12)
    inner = rect(5, 5, 6, 6)  # same orientation: nonzero keeps it filled, evenodd cuts a hole
    nz = render(Scene(16, 16, [Shape([outer, inner], fill=RED)]), 16)[..., 3]
    eo = render(Scene(16, 16, [Shape([outer, inner], fill=RED, fill_rule="evenodd")]), 16)[..., 3]
    assert nz[8, 8] == 1 and eo[8, 8] == 0 and eo[3, 3] == 1
    img = render(Scene(16, 16, [Shape([outer], fill=RED), Shape([inner], fill=BLUE)]), 16)
    assert torch.allclose(img[8, 8], torch.tensor([0.5, 0.0, 0.5, 1.0]))  # blue 50 % over red


def test_stroke_area_of_a_ring():
    img = render(Scene(64, 64, [Shape([circle(32, 32, 20)], stroke=RED, stroke_width=4.0)]), 64, tol=0.01)
    assert img[..., 3].sum().item() == pytest.approx(math.pi * (22 ** 2 - 18 ** 2), rel=3e-3)


def test_batch_matches_single_renders():
    a = Scene(20, 20, [Shape([circle(8, 9, 5)], fill=RED)])
    b = Scene(40, 40, [Shape([rect(3, 3, 20, 30)], fill=BLUE, stroke=RED, stroke_width=2.0, linejoin="round")])
    batch = render([a, b], 24)
    assert batch.shape == (2, 24, 24, 4)
    assert torch.allclose(batch[0], render(a, 24), atol=1e-6)
    assert torch.allclose(batch[1], render(b, 24), atol=1e-6)


def test_tiles_cover_non_multiple_sizes_and_offcanvas_geometry():
    # Path partly left of / above / below the canvas: only what is inside counts, exactly.
    sc = Scene(37, 23, [Shape([rect(-10.0, -5.0, 30.0, 40.0)], fill=RED)])
    img = render(sc, 37, 23)
    assert img.shape == (23, 37, 4)
    assert img[..., 3].sum().item() == pytest.approx(20 * 23, rel=1e-6)


@pytest.mark.parametrize("pts,degs,closed", [
    ([[5.0, 5.0]], [], False),  # a path with one point
    ([[5.0, 5.0], [5.0, 5.0]], [1], False),  # zero-length segment
    ([[5.0, 5.0]] * 4, [3], False),  # coincident cubic control points
    ([[5.0, 5.0]] * 3, [1, 1, 1], True),  # collapsed closed path
    ([[1e9, -1e9], [-1e9, 1e9], [3e9, 3e9]], [1, 1, 1], True),  # huge coordinates
    ([[1.0, 1.0], [9.0, 9.0], [1.0, 1.0], [9.0, 9.0]], [3], True),  # cubic folding back on itself
])
def test_degenerate_paths_do_not_crash(pts, degs, closed):
    p = torch.tensor(pts, requires_grad=True)
    sc = Scene(10, 10, [Shape([Path(p, degs, closed)], fill=RED, stroke=BLUE, stroke_width=2.0,
                               linecap="round", linejoin="round")])
    img = render(sc, 10)
    assert torch.isfinite(img).all()
    if img.requires_grad:  # nothing visible may leave the image independent of the points
        img.sum().backward()
        assert torch.isfinite(p.grad).all()


def test_round_cap_dot_from_zero_length_path():
    sc = Scene(20, 20, [Shape([Path(torch.tensor([[10.0, 10.0], [10.0, 10.0]]), [1])], stroke=RED,
                               stroke_width=8.0, linecap="round")])
    assert render(sc, 20, tol=0.01)[..., 3].sum().item() == pytest.approx(math.pi * 16, rel=5e-3)


def test_nan_coordinates_are_a_clear_error():
    sc = Scene(10, 10, [Shape([polygon(torch.tensor([[1.0, 1.0], [float("nan"), 2.0], [3.0, 4.0]]))], fill=RED)])
    with pytest.raises(UserError, match="NaN"):
        render(sc, 10)


def test_empty_scene_and_empty_paths():
    assert render(Scene(10, 10, []), 8).abs().sum() == 0
    assert render(Scene(10, 10, [Shape([], fill=RED)]), 8).abs().sum() == 0
    assert render(Scene(10, 10, [Shape([rect(1, 1, 3, 3)])]), 8).abs().sum() == 0  # no paint


def test_ten_thousand_paths():
    g = torch.Generator().manual_seed(0)
    c = torch.rand(10000, 1, 2, generator=g) * 64
    pts = c + torch.rand(10000, 3, 2, generator=g) * 4
    cols = torch.rand(10000, 4, generator=g)
    sc = Scene(64, 64, [Shape([polygon(pts[i])], fill=cols[i]) for i in range(10000)])
    img = render(sc, 64)
    assert torch.isfinite(img).all() and img[..., 3].max() <= 1 + 1e-5


def test_samples_average_subpixels():
    sc = Scene(8, 8, [Shape([polygon(torch.tensor([[0.5, 0.5], [7.5, 1.5], [3.3, 7.2]]))], fill=RED)])
    a1, a4 = render(sc, 8), render(sc, 8, samples=4)
    assert torch.allclose(a1, a4, atol=1e-5)  # exact area coverage is already the box filter


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    sc = Scene(32, 32, [Shape([circle(16, 16, 9)], fill=RED, stroke=BLUE, stroke_width=3.0)])
    cpu = render(sc, 32)
    sc_cuda = Scene(32, 32, [Shape([Path(p.points.cuda(), p.degrees, p.closed) for p in sh.paths], fill=sh.fill.cuda(),
                                   stroke=sh.stroke.cuda(), stroke_width=3.0) for sh in sc.shapes])
    assert torch.allclose(render(sc_cuda, 32).cpu(), cpu, atol=1e-5)


def test_renderer_layer_does_not_import_diffusers():
    import subprocess
    import sys
    code = ("import sys, dreamsampler3d.renderers.svg, dreamsampler3d.renderers.svg.svg_io, "
            "dreamsampler3d.renderers.svg.backend; print('diffusers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_random_scenes_fuzz_render_backward_and_round_trip():
    """Random paths (integer and huge coordinates, collapsed points), paints, joins, caps, pens; once caught
    piece ends rounding a hair outside their layer's tile box."""
    import random

    from dreamsampler3d.renderers.svg import LinearGradient
    from dreamsampler3d.renderers.svg.svg_io import load_svg, save_svg
    rng = random.Random(0)
    torch.manual_seed(0)
    for _ in range(150):
        shapes = []
        for _ in range(rng.randint(0, 5)):
            paths = []
            for _ in range(rng.randint(0, 3)):
                degs = [rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 4))]
                closed = rng.random() < 0.5
                n = sum(degs) + (0 if closed else 1)
                pts = (torch.randint(-3, 20, (n, 2)).float() if rng.random() < 0.4
                       else torch.randn(n, 2) * rng.choice([1, 5, 20, 1e4]) + 8)
                if rng.random() < 0.1 and n:
                    pts[:] = pts[0]
                paths.append(Path(pts.requires_grad_(), degs, closed))
            fill = torch.rand(4) if rng.random() < 0.7 else None
            if rng.random() < 0.2:
                fill = LinearGradient(torch.rand(2) * 16, torch.rand(2) * 16, torch.sort(torch.rand(3)).values,
                                      torch.rand(3, 4), spread=rng.choice(["pad", "reflect", "repeat"]))
            pen = torch.tensor([[2.0, 0.3], [0.0, 0.5]]) if rng.random() < 0.2 else None
            shapes.append(Shape(paths, fill, torch.rand(4) if rng.random() < 0.5 else None,
                                rng.choice([0.0, 0.3, 2.0, 9.0]), rng.choice(["nonzero", "evenodd"]), rng.random(),
                                rng.choice(["butt", "round", "square"]), rng.choice(["miter", "round", "bevel"]),
                                rng.choice([1.0, 4.0, 10.0]), pen))
        sc = Scene(16, 16, shapes)
        img = render(sc, rng.choice([7, 16, 33]), samples=rng.choice([1, 2]))
        assert torch.isfinite(img).all() and img[..., 3].max() <= 1 + 1e-4 and img.min() >= -1e-5
        if img.requires_grad:
            img.sum().backward()
            assert all(torch.isfinite(p.points.grad).all() for sh in shapes for p in sh.paths if p.points.grad is not None)
        assert torch.isfinite(render(load_svg(save_svg(sc)), 16)).all()


def _over_back_to_front(tile: torch.Tensor, alpha: torch.Tensor, color: torch.Tensor, num_tiles: int) -> torch.Tensor:
    """The textbook "over", painting order bottom-up, one pair at a time: out = a c + (1 - a) out."""
    out = [alpha.new_zeros(*alpha.shape[1:], 4) for _ in range(num_tiles)]
    for k in range(len(tile)):
        c = torch.cat([color[k].expand(*alpha.shape[1:], 3), alpha.new_ones(*alpha.shape[1:], 1)], -1)
        out[int(tile[k])] = alpha[k][..., None] * c + (1 - alpha[k][..., None]) * out[int(tile[k])]
    return torch.stack(out)


@pytest.mark.parametrize("per_pixel_paint", [False, True])
def test_over_matches_painting_back_to_front_with_opaque_layers(per_pixel_paint):
    """renderers/svg/tile_over.py composites front-to-back a depth level at a time with a hand-written backward; the
    image and the gradients (coverage, opacity and colour, solid ones broadcast over pixels) are those of
    autograd through the textbook back-to-front loop, also where layers are exactly opaque (a = 1) or empty."""
    from dreamsampler3d.renderers.svg.tile_over import over_tiles

    g = torch.Generator().manual_seed(0)
    n, nt = 40, 7
    f64 = dict(generator=g, dtype=torch.float64)
    tile = torch.randint(0, nt - 1, (n,), generator=g)  # the last tile has no pair
    cover = torch.rand(n, 3, 3, **f64)
    cover[::5] = 1.0
    cover[1::7] = 0.0
    px = (3, 3) if per_pixel_paint else (1, 1)
    opacity, colour = torch.rand(n, *px, **f64), torch.rand(n, *px, 3, **f64)
    opacity[::5] = 1.0
    weight = torch.rand(nt, 3, 3, 4, **f64)
    got_in = [x.clone().requires_grad_() for x in (cover, opacity, colour)]
    ref_in = [x.clone().requires_grad_() for x in (cover, opacity, colour)]
    got = over_tiles(tile, *got_in, nt)
    ref = _over_back_to_front(tile, ref_in[0] * ref_in[1], ref_in[2], nt)
    assert torch.allclose(got, ref, atol=1e-12)
    got_g = torch.autograd.grad((got * weight).sum(), got_in)
    ref_g = torch.autograd.grad((ref * weight).sum(), ref_in)
    for a, b in zip(got_g, ref_g):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-12)
    assert got_g[0][::5].abs().sum() > 0  # opaque layers still learn: the layers below show when they thin
    # and a constant tile's composite (one RGBA per pair and tile) against finite differences
    args = (torch.rand(n, **f64), torch.rand(n, **f64), torch.rand(n, 3, **f64))
    assert torch.autograd.gradcheck(lambda c, o, col: over_tiles(tile, c, o, col, nt), [x.requires_grad_() for x in args])


def test_rendering_in_bands_of_rows_changes_nothing(monkeypatch):
    """Large renders go a band of rows at a time, recomputed in backward (memory); image and gradients (points,
    colours, gradient stops, stroke widths, opacity) match the one-pass render, in a batch, supersampled, with
    a vertical gradient paint (whose colours depend on where the band lies)."""
    from dreamsampler3d.generators.svg import circle_points
    from dreamsampler3d.renderers.svg import LinearGradient, Path, RadialGradient, Scene, Shape
    from dreamsampler3d.renderers.svg import bands as B

    g = torch.Generator().manual_seed(1)
    leaves: list[torch.Tensor] = []

    def leaf(x: torch.Tensor) -> torch.Tensor:
        leaves.append(x.requires_grad_(True))
        return x

    def scene(n: int) -> Scene:
        shapes = []
        for i in range(n):
            p = leaf(circle_points(torch.rand(2, generator=g) * 64, 3 + torch.rand(1, generator=g) * 20, 4))
            if i % 5 == 1:
                fill = LinearGradient(torch.tensor([0.0, 5.0]), torch.tensor([3.0, 60.0]), torch.tensor([0.0, 1.0]),
                                      leaf(torch.rand(2, 4, generator=g)))
            elif i % 5 == 2:
                fill = RadialGradient(torch.tensor([30.0, 40.0]), torch.tensor(25.0), torch.tensor([0.0, 1.0]),
                                      leaf(torch.rand(2, 4, generator=g)))
            else:
                fill = leaf(torch.rand(4, generator=g))
            stroke = leaf(torch.rand(4, generator=g)) if i % 3 == 0 else None
            shapes.append(Shape([Path(p, [3] * 4, True)], fill=fill, stroke=stroke,
                                stroke_width=leaf(torch.tensor(1.5)) if stroke is not None else 1.0,
                                opacity=leaf(torch.tensor(0.8)) if i % 4 == 0 else 1.0,
                                fill_rule="evenodd" if i % 6 == 0 else "nonzero"))
        return Scene(64, 64, shapes)

    scenes = [scene(30), scene(20)]
    w = torch.rand(2, 96, 96, 4, generator=g)
    results = []
    from dreamsampler3d.renderers.svg import raster

    cuts = []
    monkeypatch.setattr(raster, "band_rows", lambda *a: cuts.append(B.band_rows(*a)) or cuts[-1])
    for work in (1500, 10**9):
        img = render(scenes, 96, 96, samples=2, band_work=work)
        grads = torch.autograd.grad((img * w).sum(), leaves, allow_unused=True)
        results.append((img.detach(), torch.cat([x.flatten() for x in grads if x is not None])))
    with torch.no_grad():
        nograd = render(scenes, 96, 96, samples=2, band_work=1500)
    assert len(cuts[0]) > 3 and len(cuts[1]) == 1  # the budget does split this render
    (banded, g_banded), (whole, g_whole) = results
    assert (whole[..., 3] > 0).float().mean() > 0.5
    assert torch.allclose(banded, whole, atol=1e-6) and torch.allclose(nograd, whole, atol=1e-6)
    assert len(g_banded) == len(g_whole) and torch.allclose(g_banded, g_whole, rtol=1e-4, atol=1e-5)
