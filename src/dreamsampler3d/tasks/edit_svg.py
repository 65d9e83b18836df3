"""SVG editing: change what the prompt asks for and keep the rest of the file as it was.

The input SVG becomes the generator (geometry converted exactly); its render is DDIM-inverted with the null
prompt, and DreamSampler steps with omega_t = omega * alpha_t (the editing recipe) edit the latent. At
``init_at`` of the steps the edited estimate is decoded and vectorised; every shape of the input that the
estimate still shows in place keeps its exact geometry and is frozen, the others are replaced by the new shapes,
and the remaining DreamSampler steps fit the new shapes alone. A kept shape the estimate repainted in one colour
takes that colour, unless a second trajectory run beside it (the input's shapes as the generator, only their fills
free: recolour.py) gave it a clearly more saturated one; one the estimate only smeared takes that trajectory's
colour; a fill it barely moved keeps its exact value.
The untouched part of the file thus keeps its bytes. DDS and PDS baselines move all the input's paths with their
gradients. See docs/svg.md."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..config_base import Common
from ..errors import UserError, require
from ..generators.svg import SVGConfig, SVGGenerator
from ..generators.svg_from_scene import generator_from_scene
from ..generators.svg_init import generator_from_image
from ..generators.svg_regions import EditPlan, plan_edit
from ..renderers.svg import Scene, Shape, render
from ..sampler.distillation import DDS, PDS, Prompts, fit_loss
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from ..sampler.inversion import ddim_invert
from .external import external_step
from .recolour import Recolouring
from .registry import TaskSpec, register
from .svg_base import SVGTask, check_latent_start, check_svg_options

EDIT_METHODS = ("dreamsampler", "dds", "pds")


@dataclass
class EditSVGOptions:
    prompt: str = ""
    source_prompt: str = ""
    method: str = "dreamsampler"
    guidance: float = 0.5  # omega, omega_t = omega * alpha_t, of the free edit (what moves, is added, is removed)
    colour_guidance: float = 3.0  # omega of the fills-only edit (geometry frozen) that recolours the kept shapes
    colour_lr: float = 0.03  # its Adam step on the fills (0..1 per channel)
    half_way_chroma: float = 0.2  # a colour the free edit repainted gives way to the fills-only edit's when that is
    # this much more saturated (chroma, max - min of RGB in 0..1): the free edit stopped half-way (docs/svg.md)
    init_at: float = 0.8  # share of the steps edited on the latent before the changed shapes are vectorised
    inner_steps: int = 4
    pixel_weight: float = 1.0  # weight of the decoded target in the fit (0: the latent term alone)
    inversion_fixed_point_iters: int = 3
    baseline_guidance: float = 7.5
    baseline_t_range: list = field(default_factory=lambda: [0.1, 0.98])  # PDS for SVG: 0.1-0.98
    svg: SVGConfig = field(default_factory=lambda: SVGConfig(lr_points=0.1, prune_every=0, fit_tolerance=0.6))
    erased_share: float = 0.7  # an input shape is removed when this share of it shows the background (and the
    # fills-only edit paints it the background too) ...
    keep_colour_tolerance: float = 0.15  # ... else it keeps its geometry, and its fill when the edit shows a colour
    # this close (0..1 per channel)
    output_size: int = 512
    video_every: int = 2


def merged(source: SVGGenerator, edited: SVGGenerator | None, plan: EditPlan) -> tuple[SVGGenerator, list[int],
                                                                                      list[int]]:
    """The source shapes the plan keeps (exact geometry, in their own order; recoloured ones with their new fill;
    replaced ones by the edited shape that takes their layer) and the edit's added shapes on top; the source's
    background unless the edit changed it. Returns the generator, the indices of the shapes kept exactly and of
    those whose geometry is kept."""
    src_contours = source.contours(source.points.detach())
    new_contours = edited.contours(edited.points.detach()) if edited is not None else []
    order = sorted([*plan.kept, *plan.recoloured, *(plan.replaced if edited is not None else {})])
    outlines, fills, straight = [], [], []
    for k in order:
        if k in plan.replaced:
            j = plan.replaced[k]
            outlines.append([c.clone() for c in new_contours[j]])
            fills.append(edited.fills.detach()[j].clone())
            straight.append(edited.straight[_segments(edited, j)])
            continue
        outlines.append([c.clone() for c in src_contours[k]])
        fills.append(source.fills.detach()[k].clone())
        if k in plan.recoloured:
            fills[-1][:3] = plan.recoloured[k]
        straight.append(source.straight[_segments(source, k)])
    background = source.background
    if edited is not None:
        for j in plan.added:
            outlines.append([c.clone() for c in new_contours[j]])
            fills.append(edited.fills.detach()[j])
            straight.append(edited.straight[_segments(edited, j)])
        if float((source.background - edited.background).abs().max()) > 0.3:  # asked for, not drift
            background = edited.background
    if not outlines:  # the edit removed everything: keep the input rather than return an empty file
        return merged(source, None, EditPlan(kept=list(range(len(source.layout)))))
    layout = [[c.shape[0] // 3 for c in shape] for shape in outlines]
    points = torch.cat([c for shape in outlines for c in shape])
    gen = SVGGenerator(points, torch.stack(fills), source.config, source.width, source.height,
                       background.tolist(), layout, torch.cat(straight))
    kept = [i for i, k in enumerate(order) if k in plan.kept]
    return gen, kept, [i for i, k in enumerate(order) if k not in plan.replaced]


def _segments(svg: SVGGenerator, k: int) -> slice:
    sl = svg.shape_slices()[k]
    return slice(sl.start // 3, sl.stop // 3)


class EditSVGTask(SVGTask):
    def __init__(self, prior, scene, options: EditSVGOptions, num_steps: int, seed: int, negative_prompt: str = ""):
        o = options
        size = prior.default_size
        source = generator_from_scene(scene, o.svg, size, prior.size_multiple)
        self.switch = min(num_steps - 1, max(1, math.floor(o.init_at * num_steps))) if o.method == "dreamsampler" else 0
        super().__init__(prior, copy.deepcopy(source), num_steps, seed, o.output_size, o.video_every, source.config,
                         (num_steps - self.switch) * o.inner_steps)
        self.options = o
        self.source = source
        self.schedule = prior.schedule(num_steps)
        self.null, self.target = prior.encode_text(negative_prompt), prior.encode_text(o.prompt)
        self.source_prompt = prior.encode_text(o.source_prompt)
        cfg = SamplerConfig(guidance=o.guidance, omega_schedule="alpha", renoise="unconditional")
        self.sampler = DreamSampler(prior, self.schedule, self.null, [self.target], cfg, self.generator)
        self._recolouring: Recolouring | None = None
        self._reference: Tensor | None = None
        self.rule = None

    # ------------------------------------------------------------------ state
    def initial_state(self) -> dict[str, Tensor]:
        with torch.no_grad():
            z0 = self.latents()
            common = {"z_source": z0, "frozen": torch.zeros(0, dtype=torch.long),
                      "pinned": torch.zeros(0, dtype=torch.long), "rebuilt": torch.tensor(0)}
            if self.options.method != "dreamsampler":
                return common
            z_T = ddim_invert(self.prior, self.schedule, z0, self.null, self.options.inversion_fixed_point_iters)
        return {"z": z_T, "z0": z0, **common, **Recolouring.initial_state(z_T, self.source.fills)}

    def reference(self) -> Tensor:
        """[1, 3, H, W]: the input as the prior shows it, unedited (its own decoding of the input's latent)."""
        if self._reference is None:
            with torch.no_grad():
                self._reference = self.prior.decode(self.state["z_source"])
        return self._reference

    def recolouring(self) -> Recolouring:
        """The fills-only trajectory's machinery (built on first use; its state lives in ``self.state``)."""
        if self._recolouring is None:
            o = self.options
            cfg = SamplerConfig(guidance=o.colour_guidance, omega_schedule="alpha", renoise="unconditional")
            sampler = DreamSampler(self.prior, self.schedule, self.null, [self.target], cfg, self.generator)
            self._recolouring = Recolouring(self.prior, sampler, self.source, self.reference(),
                                            o.keep_colour_tolerance, o.colour_lr, o.inner_steps)
        return self._recolouring

    def rebuilt(self) -> bool:
        return bool(self.state) and int(self.state["rebuilt"]) == 1

    def frozen(self) -> list[int]:
        return self.state["frozen"].tolist() if self.state else []

    def after_step(self) -> None:
        """Shapes kept from the input go back to their exact geometry and their decided fill after every optimiser
        step."""
        if not self.rebuilt():
            return
        with torch.no_grad():
            slices = self.svg.shape_slices()
            for k in self.state["pinned"].tolist():
                self.svg.points[slices[k]] = self.state["frozen_points"][slices[k]]
            for k in self.frozen():
                self.svg.fills[k] = self.state["frozen_fills"][k]

    def start_from(self, target: Tensor) -> None:
        """Read the edited estimate against the input's shapes (svg_regions.plan_edit): keep the shapes it still
        shows in place (in the colour it repainted them, or where it only smeared them the colour the fills-only
        trajectory gave them), redraw the rest from it."""
        o = self.options
        for i in range(self.switch, self.num_steps):  # the fills-only edit's last steps, so its colours are final
            self.recolouring().step(self.state, i)
        with torch.no_grad():
            image = self.prior.decode(target)
        try:
            edited = generator_from_image(image, self.svg_config, decoded=True)
        except UserError:  # the edit shows one flat colour: nothing to add
            edited = None
        plan = plan_edit(self.source, image, edited, o.keep_colour_tolerance, o.erased_share,
                         reference=self.reference(), fills=self.recolouring().colours(self.state),
                         half_way_chroma=o.half_way_chroma)
        gen, _, pinned = merged(self.source, edited, plan)
        self.set_generator(gen)
        self.state["frozen"] = torch.tensor(pinned, dtype=torch.long)  # every kept shape's fill is decided: the
        # same shapes as "pinned" (both keys stay, as the checkpoints' fields)
        self.state["pinned"] = torch.tensor(pinned, dtype=torch.long)
        self.state["frozen_points"] = gen.points.detach().clone()
        self.state["frozen_fills"] = gen.fills.detach().clone()
        self.state["rebuilt"] = torch.tensor(1)

    def check_checkpoint(self, checkpoint: dict, check, done: int) -> None:
        """Beyond SVGTask's checks: the fills-only trajectory's fills in [0, 1], Adam's second moments >= 0 and its
        step count a whole number within what the run takes (its dtype and shapes are checked already)."""
        super().check_checkpoint(checkpoint, check, done)
        state = checkpoint["sampler_state"]
        if "recolour_fills" not in state:
            return
        check.like(state["recolour_fills"], self.source.fills.detach().cpu(), "sampler_state.recolour_fills", 0.0, 1.0)
        check.like(state["recolour_avg_sq"], self.source.fills.detach().cpu(), "sampler_state.recolour_avg_sq", 0.0)
        steps = state["recolour_adam_steps"]
        most = self.num_steps * self.options.inner_steps
        check.tensor(steps, "sampler_state.recolour_adam_steps", torch.float32, (), 0, most)
        if float(steps) != round(float(steps)):
            check.fail("sampler_state.recolour_adam_steps", f"expected a whole number, got {float(steps)}")

    # ------------------------------------------------------------------ steps
    def fit(self, target: Tensor) -> Tensor:
        if not self.rebuilt():
            self.start_from(target)
        return self.fit_latents(target, self.options.inner_steps, self.options.pixel_weight)

    def advance(self, i: int) -> dict[str, float]:
        o = self.options
        if o.method == "dreamsampler":
            if i < self.switch:
                with torch.no_grad():
                    self.state["z"], proposal = self.sampler.step(self.state["z"], i)
                    self.state["z0"] = proposal.target
                self.recolouring().step(self.state, i)
                return {}
            self.state["z"], loss = external_step(self.sampler, self.state["z"], i, self.fit, self.latents)
        else:
            if self.rule is None:
                prompts = Prompts(null=self.null, target=self.target, source=self.source_prompt)
                rule = DDS if o.method == "dds" else PDS
                self.rule = rule(self.prior, self.schedule, prompts, self.state["z_source"], o.baseline_guidance,
                                 tuple(o.baseline_t_range), self.generator)
            for _ in range(o.inner_steps):
                z = self.latents()
                loss = fit_loss(z, self.rule.target(z))
                self.optimiser_step(loss)
            loss = loss.detach()
        self.record_frame(i)
        return {"loss": float(loss)}

    @torch.no_grad()
    def render(self) -> Tensor:
        if not self.finished and self.options.method == "dreamsampler" and self.state and not self.rebuilt():
            return self.prior.decode(self.state["z0"])  # before the shapes are rebuilt: the edit's estimate
        return super().render()

    # ------------------------------------------------------------------ the result
    def result_scene(self):
        """The input shapes kept (exact, or recoloured) stay as they came in; cleanup leaves them alone."""
        scene, _ = super().result_scene()
        pinned = self.state["pinned"].tolist() if self.state else []
        return scene, tuple(scene.shapes[k + 1] for k in pinned)


@dataclass
class EditSVGConfig(Common, EditSVGOptions):
    svg_file: str = ""  # the SVG to edit (--svg)


def _check(cfg: EditSVGConfig) -> None:
    check_latent_start(cfg)
    require(0.0 < cfg.erased_share <= 1.0, f"config: erased_share must lie in (0, 1], got {cfg.erased_share}")
    require(cfg.colour_guidance >= 0.0, f"config: colour_guidance must be >= 0, got {cfg.colour_guidance}")
    require(cfg.colour_lr > 0.0, f"config: colour_lr must be > 0, got {cfg.colour_lr}")
    require(0.0 <= cfg.half_way_chroma <= 1.0, f"config: half_way_chroma must lie in [0, 1], got {cfg.half_way_chroma}")
    require(0.0 <= cfg.keep_colour_tolerance <= 1.0,
            f"config: keep_colour_tolerance must lie in [0, 1], got {cfg.keep_colour_tolerance}")
    require(len(cfg.baseline_t_range) == 2 and 0 <= cfg.baseline_t_range[0] < cfg.baseline_t_range[1] <= 1,
            f"config: baseline_t_range must be [low, high] within [0, 1], got {cfg.baseline_t_range}")
    check_svg_options(cfg)


def _build(cfg: EditSVGConfig, prior, inputs):
    return EditSVGTask(prior, inputs.source, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt), lambda result: {}


register(TaskSpec(
    name="edit-svg", help="edit an SVG towards a prompt, keeping the rest of its structure (--method dds|pds baselines)",
    config=EditSVGConfig, build=_build, inputs=("svg", "prompt"), methods=EDIT_METHODS,
    method_help="the editing rule; dds and pds are baselines", check=_check, order=70,
    about="Every shape of the input becomes an exact path (strokes become their outlines); shapes the edit does "
          "not concern keep their bytes in result.svg, the others are changed towards --prompt.",
    examples=("dreamsampler3d samples samples",
              'dreamsampler3d edit-svg --svg samples/two-shapes.svg --prompt "a small green circle on the left and '
              'a small blue square on the right on a white background" --out out/edit-svg')))
