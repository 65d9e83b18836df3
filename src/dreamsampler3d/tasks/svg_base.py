"""What every SVG task shares: the generator and its optimiser (both may be created mid-run, and both are
checkpointed with the counters and video frames), upkeep after each optimiser step, and the result: a cleaned
scene (svg_cleanup) written as result.svg at the output size, result.png rendered from that very file, and the
file's numbers for metrics.json. See docs/svg.md."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from ..generators.svg import SVGConfig, SVGGenerator
from ..generators.svg_cleanup import CleanupConfig, clean_scene
from ..errors import require
from ..io.images import save_text, to_uint8
from ..io.video import save_video
from ..renderers.svg import Scene
from ..sampler.distillation import fit_loss
from .base import SamplingTask


def render_svg_text(text: str, width: int) -> Tensor:
    """cairosvg's render of an SVG document, [1, 3, H, W] in [-1, 1] over white: result.png is what any SVG
    viewer shows for result.svg."""
    import cairosvg
    from PIL import Image

    png = cairosvg.svg2png(bytestring=text.encode(), output_width=width)
    with Image.open(io.BytesIO(png)) as img:
        rgba = img.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    arr = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    return torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0).contiguous()


def check_svg_options(cfg) -> None:
    """What every SVG task's config shares beyond its ``svg`` settings (SVGConfig.problems): ``output_size``."""
    require(cfg.output_size >= 1, "config: output_size must be >= 1")


def check_latent_start(cfg) -> None:
    """Tasks that sample on the latent first and vectorise at ``init_at`` (text-to-svg, edit-svg)."""
    require(0.0 < cfg.init_at < 1.0, f"config: init_at must lie in (0, 1), got {cfg.init_at}")
    require(cfg.inner_steps >= 1, f"config: inner_steps must be >= 1, got {cfg.inner_steps}")
    require(cfg.pixel_weight >= 0, f"config: pixel_weight must be >= 0, got {cfg.pixel_weight}")


def new_optimiser(svg: SVGGenerator) -> torch.optim.Optimizer:
    """The optimiser of a generator's parameters (a new one for each generator)."""
    return torch.optim.Adam(svg.parameter_groups(), betas=(0.9, 0.9))


class SVGTask(SamplingTask):
    # State entries tied to the generator's shapes, checked against the checkpoint's own generator on --resume
    # (edit-svg's frozen shapes): indices of shapes, and copies of one of the generator's parameters.
    shape_indices: tuple[str, ...] = ("frozen", "pinned")
    parameter_copies: dict[str, str] = {"frozen_points": "points", "frozen_fills": "fills"}

    def __init__(self, prior, svg: SVGGenerator | None, num_steps: int, seed: int, output_size: int,
                 video_every: int, config: SVGConfig, inner_steps_total: int):
        """``svg`` may be None when the task builds its generator during the run (``set_generator``);
        ``inner_steps_total`` is how many optimiser steps the whole run takes (re-initialisation stops in time)."""
        super().__init__(prior, num_steps, seed)
        self.svg_config = config
        self.svg = svg
        self.opt: torch.optim.Optimizer | None = None
        self.output_size = output_size
        self.video_every = video_every
        self.inner_steps_total = inner_steps_total
        self.frames: list[Tensor] = []  # uint8 [H, W, 3]
        self.inner_steps_done = 0
        self.reborn: set[int] = set()  # shapes re-created by pruning: never in the result
        self._final: tuple[Scene, str, dict] | None = None

    # ------------------------------------------------------------------ generator and optimiser
    def set_generator(self, svg: SVGGenerator) -> None:
        self.svg = svg.to(self.run_device)
        self.opt = None
        self._final = None

    def optimiser(self) -> torch.optim.Optimizer:
        if self.opt is None:
            self.opt = new_optimiser(self.svg)
        return self.opt

    def optimiser_step(self, loss: Tensor) -> None:
        opt = self.optimiser()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()
        self.svg.clamp_()
        self.after_step()
        self._final = None
        self.inner_steps_done += 1
        every = self.svg.config.prune_every
        if every and self.inner_steps_done % every == 0 and self.inner_steps_done + every <= self.inner_steps_total:
            self.reborn.update(self.svg.prune_(self.generator))

    def after_step(self) -> None:
        """Task-specific upkeep after each optimiser step (editing restores its frozen shapes)."""

    def latents(self) -> Tensor:
        """E(g(theta)) [1, C, h, w], differentiable in the paths (rendered at render_scale x, averaged down)."""
        return self.prior.encode(self.svg.render() * 2 - 1)

    def fit_latents(self, target: Tensor, steps: int, pixel_weight: float = 0.0) -> Tensor:
        """``steps`` optimiser steps of 0.5 ||E(g) - target||^2 + pixel_weight 0.5 ||g - D(target)||^2 (means):
        DreamSampler's inner loop, with the decoded target as a regulariser that pins edges and colours
        where the small encoder is vague (docs/svg.md)."""
        picture = None
        if pixel_weight > 0:
            with torch.no_grad():
                picture = (self.prior.decode(target) + 1) / 2  # [1, 3, H, W] in [0, 1]
        for _ in range(steps):
            image = self.svg.render()  # [1, 3, H, W] in [0, 1]
            loss = fit_loss(self.prior.encode(image * 2 - 1), target)
            if picture is not None:
                loss = loss + pixel_weight * 0.5 * (image - picture).pow(2).mean()
            self.optimiser_step(loss)
        return loss.detach()

    def record_frame(self, i: int) -> None:
        if self.video_every and i % self.video_every == 0 and self.svg is not None:
            with torch.no_grad():
                side = min(4 * round(self.svg.height), 512)  # frames live in every checkpoint: bounded
                frame = self.svg.render(size=side, scale=1)[0]  # [3, H, W] in [0, 1]
            self.frames.append((frame.permute(1, 2, 0) * 255).round().to(torch.uint8).cpu())

    # ------------------------------------------------------------------ the result
    def result_scene(self) -> tuple[Scene, tuple]:
        """The generator's scene without re-created shapes, and the shapes cleanup must leave alone."""
        scene = self.svg.scene()
        shapes = [s for k, s in enumerate(scene.shapes) if k == 0 or (k - 1) not in self.reborn]
        return Scene(scene.width, scene.height, shapes), ()

    def final(self) -> tuple[Scene, str, dict]:
        """(clean scene, result.svg text, numbers) of the generator as it is now; computed once."""
        if self._final is None:
            from ..renderers.svg.svg_export import save_svg

            scene, keep = self.result_scene()
            numbers: dict = {}
            if self.svg_config.cleanup:
                scene, numbers = clean_scene(scene, CleanupConfig(), keep)
            text = save_svg(scene, size=self.output_size, decimals=self.svg_config.decimals)
            self._final = (scene, text, numbers)
        return self._final

    def traced(self, image: Callable[[], Tensor]) -> tuple[None, str, dict]:
        """The tracer baselines' result: vtracer on ``image()`` [1, 3, H, W] in [-1, 1], computed once."""
        if self._final is None:
            from ..generators.trace import trace

            with torch.no_grad():
                self._final = (None, trace(to_uint8(image()), self.output_size), {})
        return self._final

    @torch.no_grad()
    def render(self) -> Tensor:
        """Mid-run: the generator at the canvas size; at the end: result.svg rendered at the output size."""
        if self.finished:
            return render_svg_text(self.final()[1], self.output_size).to(self.run_device)
        return self.svg.render() * 2 - 1

    def export(self, out: Path) -> dict:
        from ..metrics.svg_quality import count_visible

        _, text, numbers = self.final()
        save_text(out / "result.svg", text)
        files = {"svg": "result.svg", "paths": text.count("<path"), "visible_paths": count_visible(text),
                 "svg_bytes": len(text.encode()), **numbers}
        if self.frames:
            files["video"] = save_video(out / "optimisation.mp4", [f.numpy() for f in self.frames], fps=8).name
        return files

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["svg_task"] = {
            "structure": self.svg.structure() if self.svg is not None else None,
            "optimizer": self.opt.state_dict() if self.opt is not None else None,
            "inner_steps_done": self.inner_steps_done,
            "reborn": sorted(self.reborn),
            "frames": torch.stack(self.frames) if self.frames else None,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        """Runs before Lightning loads the weights: rebuild a generator of the checkpoint's shape first.
        ``checkpoint`` has passed ``check_checkpoint`` (below)."""
        super().on_load_checkpoint(checkpoint)
        saved = checkpoint["svg_task"]
        if saved["structure"] is None:
            if "svg" in self._modules:
                del self._modules["svg"]
            self.svg = None
        else:
            state = {k[4:]: v for k, v in checkpoint["state_dict"].items() if k.startswith("svg.")}
            self.set_generator(SVGGenerator.from_structure(saved["structure"], state, self.svg_config))
            if saved["optimizer"] is not None:
                self.optimiser().load_state_dict(saved["optimizer"])
        self.inner_steps_done = saved["inner_steps_done"]
        self.reborn = set(saved["reborn"])
        self.frames = list(saved["frames"]) if saved["frames"] is not None else []

    # ------------------------------------------------------------------ --resume: what this run writes
    def dynamic_state_keys(self) -> tuple[str, ...]:
        return (*self.shape_indices, *self.parameter_copies)

    def dynamic_parameter_prefixes(self) -> tuple[str, ...]:
        return ("svg.",)  # the generator may be built or rebuilt during the run

    def expected_canvas(self) -> tuple[float, float] | None:
        """The generator's canvas (width, height) in this run: that of the generator the task starts with, else
        (a generator built mid-run from the prior's picture) the prior's working size."""
        if self.svg is not None:
            return self.svg.width, self.svg.height
        if self.prior is not None:
            return float(self.prior.default_size), float(self.prior.default_size)
        return None

    def max_shapes(self) -> int:
        """The most shapes a generator of this run has: ``svg.num_paths`` new ones, and those it starts with."""
        return self.svg_config.num_paths + (len(self.svg.layout) if self.svg is not None else 0)

    def check_checkpoint(self, checkpoint: dict, check, done: int) -> None:
        """Beyond the sampler state: the generator's structure (layout within the run's shape count and the
        renderer's segment limit, the run's canvas), its parameters (shapes from the layout; points near the
        canvas, colours in [0, 1]), its optimiser (as a new one over that generator writes it), the counters and
        the video frames (the run's frame size, no more frames than steps)."""
        from ..renderers.svg.limits import LIMITS

        super().check_checkpoint(checkpoint, check, done)
        saved = check.mapping(checkpoint["svg_task"], "svg_task",
                              ("structure", "optimizer", "inner_steps_done", "reborn", "frames"))
        params = {k[4:]: v for k, v in checkpoint["state_dict"].items() if k.startswith("svg.")}
        inner = check.integer(saved["inner_steps_done"], "svg_task.inner_steps_done", 0, self.inner_steps_total)
        state = checkpoint["sampler_state"]
        if saved["structure"] is None and self.svg is not None:
            check.fail("svg_task.structure", "missing (this run has its generator from the start)")
        if saved["structure"] is None:
            for key, value in (("optimizer", saved["optimizer"]), ("frames", saved["frames"])):
                if value is not None:
                    check.fail(f"svg_task.{key}", "present without a generator")
            check.sequence(saved["reborn"], "svg_task.reborn", 0)
            if params:
                check.fail(f"state_dict.svg.{sorted(params)[0]}", "present without a generator")
            for key in self.parameter_copies:
                if key in state:
                    check.fail(f"sampler_state.{key}", "present without a generator")
            for key in self.shape_indices:
                if key in state:
                    check.tensor(state[key], f"sampler_state.{key}", torch.int64, (0,))
            return

        structure = check.mapping(saved["structure"], "svg_task.structure", ("layout", "width", "height"))
        canvas = self.expected_canvas()
        where = "svg_task.structure"
        if canvas is not None:
            check.same(structure["width"], float(canvas[0]), f"{where}.width")
            check.same(structure["height"], float(canvas[1]), f"{where}.height")
        else:
            check.number(structure["width"], f"{where}.width", 1, 4096)
            check.number(structure["height"], f"{where}.height", 1, 4096)
        width, height = float(structure["width"]), float(structure["height"])
        layout = check.sequence(structure["layout"], f"{where}.layout", self.max_shapes(), 1)
        segments = 0
        for i, contours in enumerate(layout):
            check.sequence(contours, f"{where}.layout[{i}]", LIMITS.max_segments, 1)
            for j, count in enumerate(contours):
                segments += check.integer(count, f"{where}.layout[{i}][{j}]", 1, LIMITS.max_segments)
            if segments > LIMITS.max_segments:
                check.fail(f"{where}.layout", f"more than the renderer's {LIMITS.max_segments} segments")
        shapes = len(layout)

        c = self.svg_config
        expected = {"points", "fills", "background", "straight"} | ({"strokes", "widths"} if c.stroke else set())
        for key in sorted(set(params) ^ expected):
            check.fail(f"state_dict.svg.{key}", "missing" if key in expected else "not a parameter of this run")
        low, high = self._point_bounds(width, height)
        check.tensor(params["points"], "state_dict.svg.points", torch.float32, (3 * segments, 2), low, high)
        check.tensor(params["fills"], "state_dict.svg.fills", torch.float32, (shapes, 4), 0.0, 1.0)
        check.tensor(params["background"], "state_dict.svg.background", torch.float32, (3,), 0.0, 1.0)
        check.tensor(params["straight"], "state_dict.svg.straight", torch.bool, (segments,))
        if c.stroke:
            check.tensor(params["strokes"], "state_dict.svg.strokes", torch.float32, (shapes, 4), 0.0, 1.0)
            check.tensor(params["widths"], "state_dict.svg.widths", torch.float32, (shapes,), 0.0,
                         c.max_stroke_width)
        if saved["optimizer"] is not None:
            rebuilt = SVGGenerator.from_structure(structure, params, c)
            check.optimizer(saved["optimizer"], new_optimiser(rebuilt), "svg_task.optimizer", max_step=inner)

        reborn = check.sequence(saved["reborn"], "svg_task.reborn", shapes)
        for k, index in enumerate(reborn):
            check.integer(index, f"svg_task.reborn[{k}]", 0, shapes - 1)
        if len(set(reborn)) != len(reborn):
            check.fail("svg_task.reborn", "repeats a shape")

        for key in self.shape_indices:
            if key in state:
                value = state[key]
                if not isinstance(value, Tensor) or value.dim() != 1 or len(value) > shapes:
                    check.fail(f"sampler_state.{key}", f"expected a list of at most {shapes} shape indices")
                check.tensor(value, f"sampler_state.{key}", torch.int64, (len(value),), 0, shapes - 1)
        for key, name in self.parameter_copies.items():
            if key in state:
                check.like(state[key], params[name], f"sampler_state.{key}")

        frames = saved["frames"]
        if frames is not None:
            side = min(4 * round(height), 512)  # record_frame's size
            most = -(-done // self.video_every) if self.video_every else 0  # one every video_every steps
            if not isinstance(frames, Tensor) or frames.dim() != 4 or not 1 <= len(frames) <= most:
                check.fail("svg_task.frames", f"expected a [frames, height, width, 3] tensor of 1..{most} frames by "
                                              f"step {done}")
            check.tensor(frames, "svg_task.frames", torch.uint8, (len(frames), side, int(round(side * width / height)), 3))

    def _point_bounds(self, width: float, height: float) -> tuple[float, float]:
        """Where control points may lie: the canvas and the margin clamp_ allows, and wherever the generator the
        run starts with has points (an edited SVG's shapes may reach beyond its canvas)."""
        margin = 0.1 * max(width, height)
        low, high = -margin, max(width, height) + margin
        if self.svg is not None and self.svg.points.numel():
            p = self.svg.points.detach()
            low, high = min(low, float(p.min())), max(high, float(p.max()))
        pad = 1e-4 * max(width, height, high - low)  # float32 rounding: clamp_(-3.2) stores -3.2000000477
        return low - pad, high + pad
