"""Text-to-3D: a NeRF distilled from a 2D prior, by DreamSampler (per-view trajectories over a fixed set of
cameras, which the NeRF makes agree) or by the SDS baseline (random views, random t)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor

from ..config_base import Common
from ..errors import require
from ..priors.embedded import OBJECTS
from ..generators.mesh_tidy import tidy
from ..generators.nerf import NeRFConfig, NeRFGenerator
from ..io.video import save_video
from ..io.files import atomic_file
from ..renderers.nerf.cameras import CameraRanges, Cameras, orbit_cameras, sample_cameras, surface_cameras, view_phrase, VIEW_WORDS
from ..sampler.ddim import noise_to
from ..sampler.distillation import Prompts, SDS, fit_loss
from ..sampler.dreamsampler import DreamSampler, SamplerConfig
from .base import SamplingTask
from .external import external_step
from .registry import TaskSpec, register

METHODS = ("dreamsampler", "sds")


@dataclass
class TextTo3DOptions:
    prompt: str = ""
    method: str = "dreamsampler"  # or sds
    trajectory: str = "annealed"  # dreamsampler: random views with annealed t, or 'fixed': one trajectory per camera
    view_prompts: str = "auto"  # add 'front/side/back/overhead view' (auto: when the prior knows those words)
    views: int = 4  # fixed trajectories: cameras, one trajectory each
    views_per_step: int = 2  # cameras rendered per optimiser step
    inner_steps: int = 4  # optimiser steps on the NeRF per sampler step
    render_size: int = 32  # NeRF render resolution, up-sampled to the model's input size
    sampler: SamplerConfig = field(default_factory=lambda: SamplerConfig(guidance=3.0, renoise="unconditional", eta=0.5))
    sds_guidance: float = 50.0
    lambda_opacity: float = 0.01
    lambda_orientation: float = 0.01
    elevation: List[float] = field(default_factory=lambda: [-15.0, 60.0])  # under a base, into a hole
    fov: List[float] = field(default_factory=lambda: [45.0, 60.0])
    distance: List[float] = field(default_factory=lambda: [1.8, 2.2])
    nerf: NeRFConfig = field(default_factory=NeRFConfig)
    mesh_resolution: int = 96
    mesh_formats: List[str] = field(default_factory=lambda: ["glb"])  # also obj, ply
    orbit_frames: int = 36

    def camera_ranges(self) -> CameraRanges:
        """Where the training cameras sit."""
        return CameraRanges(elevation=tuple(self.elevation), fov=tuple(self.fov), distance=tuple(self.distance))


class TextTo3DTask(SamplingTask):
    def __init__(self, prior, options: TextTo3DOptions, num_steps: int, seed: int, negative_prompt: str = "",
                 knows_views: bool = True):
        super().__init__(prior, num_steps, seed)
        self.options = o = options
        self.nerf = NeRFGenerator(o.nerf)
        self.size = prior.default_size
        self.ranges = o.camera_ranges()
        self.use_view_words = o.view_prompts == "on" or (o.view_prompts == "auto" and knows_views)
        self.null = prior.encode_text(negative_prompt)
        self.schedule = prior.schedule(num_steps)
        self.sampler = DreamSampler(prior, self.schedule, self.null, [prior.encode_text(o.prompt)], o.sampler, self.generator)
        self.sds = None

    def configure_optimizers(self):
        return torch.optim.Adam(self.nerf.parameter_groups(), betas=(0.9, 0.99))

    # ------------------------------------------------------------------ helpers
    def prompts_for(self, cams: Cameras) -> list:
        """Each camera's prompt condition, with its view words when the prior reads them."""
        text = self.options.prompt
        if not self.use_view_words:
            return [self.prior.encode_text(text)] * len(cams)
        return [self.prior.encode_text(f"{text}, {view_phrase(float(e), float(a))}")
                for e, a in zip(cams.elevation, cams.azimuth)]

    def fixed_cameras(self) -> Cameras:
        c = self.state
        return Cameras(c["cam_elevation"], c["cam_azimuth"], c["cam_fov"], c["cam_distance"])

    def render_latents(self, cameras: Cameras, shading: str, jitter: bool) -> tuple[Tensor, dict]:
        """NeRF images -> model-size images in [-1, 1] -> latents [V, C, h, w] (differentiable)."""
        s = self.options.render_size
        out = self.nerf.render(cameras, s, s, shading, jitter, self.generator, step=self.global_step)
        images = F.interpolate(out["rgb"], size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.prior.encode(images * 2 - 1), out

    def shading(self) -> str:
        return "albedo" if float(torch.rand(1, generator=self.generator)) < self.options.nerf.albedo_probability else "diffuse"

    def regularisers(self, out: dict) -> Tensor:
        o = self.options
        opacity = out["opacity"].clamp(1e-4, 1 - 1e-4)
        entropy = -(opacity * opacity.log() + (1 - opacity) * (1 - opacity).log()).mean()
        return o.lambda_opacity * entropy + o.lambda_orientation * out["orientation"].mean()

    def optimiser_step(self, loss: Tensor) -> None:
        opt = self.optimizers()
        opt.zero_grad()
        self.manual_backward(loss)
        opt.step()

    # ------------------------------------------------------------------ SamplingTask
    def initial_state(self) -> dict[str, Tensor]:
        cams = sample_cameras(self.options.views, self.ranges, self.generator)
        az = torch.arange(self.options.views, dtype=torch.float32) * (360.0 / self.options.views) - 180.0
        cams = Cameras(cams.elevation, az, cams.fov, cams.distance)  # spread evenly around the object
        z = self.randn(self.options.views, *self.prior.latent_shape(self.size, self.size))
        return {"z": z, **{f"cam_{k}": v for k, v in cams.to_dict().items()}}

    def advance(self, i: int) -> dict[str, float]:
        if self.options.method == "sds":
            return self._advance_sds()
        if self.options.trajectory == "annealed":
            return self._advance_annealed(i)
        o = self.options
        cams = self.fixed_cameras()
        conds = self.prompts_for(cams)

        def fit(target: Tensor) -> Tensor:  # target [V, C, h, w]
            for _ in range(o.inner_steps):
                pick = torch.randperm(o.views, generator=self.generator)[: o.views_per_step]
                sub = cams[pick]
                latents, out = self.render_latents(sub, self.shading(), jitter=True)
                loss = fit_loss(latents, target[pick.to(target.device)]) + self.regularisers(out)
                self.optimiser_step(loss)
            return loss.detach()

        # what the NeRF achieved becomes z0_bar of every view's trajectory
        self.state["z"], loss = external_step(self.sampler, self.state["z"], i, fit,
                                              lambda: self.render_latents(cams, "albedo", jitter=False)[0], conds)
        return {"loss": float(loss)}

    def _advance_annealed(self, i: int) -> dict[str, float]:
        """Random views; the sampler's timestep i is annealed from noisy to clean and each view is noised afresh
        from the current render (no trajectory carried between steps)."""
        o = self.options
        cams = sample_cameras(o.views_per_step, self.ranges, self.generator)
        conds = self.prompts_for(cams)
        t, a, _ = self.schedule.at(i)
        with torch.no_grad():
            current, _ = self.render_latents(cams, "albedo", jitter=False)
            z_t = noise_to(current, self.randn(*current.shape), a)
            target = self.sampler.propose(z_t, i, conds).target
        for _ in range(o.inner_steps):
            latents, out = self.render_latents(cams, self.shading(), jitter=True)
            loss = fit_loss(latents, target) + self.regularisers(out)
            self.optimiser_step(loss)
        return {"loss": float(loss.detach())}

    def _advance_sds(self) -> dict[str, float]:
        o = self.options
        for _ in range(o.inner_steps):
            cams = sample_cameras(o.views_per_step, self.ranges, self.generator)
            latents, out = self.render_latents(cams, self.shading(), jitter=True)
            conds = self.prompts_for(cams)
            grad = torch.cat([self._sds_rule(c).gradient(latents[k:k + 1]) for k, c in enumerate(conds)])
            loss = fit_loss(latents, latents - grad) + self.regularisers(out)
            self.optimiser_step(loss)
        return {"loss": float(loss.detach())}

    def _sds_rule(self, cond) -> SDS:
        return SDS(self.prior, self.schedule, Prompts(null=self.null, target=cond), self.options.sds_guidance,
                   generator=self.generator)

    @torch.no_grad()
    def render_views(self, cameras: Cameras, shading: str = "albedo") -> Tensor:
        """[V, 3, S, S] in [-1, 1] at the model's size (what the judge and the user see)."""
        out = self.nerf.render(cameras, self.size, self.size, shading, jitter=False)
        return out["rgb"].clamp(0, 1) * 2 - 1

    @torch.no_grad()
    def render(self) -> Tensor:
        """A strip of 4 orbit views, [1, 3, S, 4 S]."""
        views = self.render_views(orbit_cameras(4, elevation=15.0, distance=2.0))
        return torch.cat(list(views), dim=-1)[None]

    @torch.no_grad()
    def export(self, out: Path) -> dict:
        """orbit.mp4 (GIF fallback) and the mesh; returns file names for metrics.json."""
        frames = []
        cams = orbit_cameras(self.options.orbit_frames, elevation=15.0, distance=2.0)
        for k in range(0, len(cams), 6):
            sub = cams[k:k + 6]
            frames.extend(self.render_views(sub))
        video = save_video(out / "orbit.mp4", frames, fps=12)
        files = {"video": video.name}
        try:
            mesh = self.nerf.extract_mesh(self.options.mesh_resolution, cameras=surface_cameras(self.ranges))
        except ValueError as exc:
            return {**files, "mesh_error": str(exc)}
        mesh, share = tidy(mesh)  # main piece, smoothed, y-up on the ground plane
        files["mesh_kept_share"] = round(share, 4)
        for fmt in self.options.mesh_formats:
            path = atomic_file(out / f"mesh.{fmt}", lambda tmp, fmt=fmt: mesh.export(tmp, file_type=fmt))
            files[f"mesh_{fmt}"] = path.name
        files["mesh_vertices"] = int(len(mesh.vertices))
        return files


@dataclass
class TextTo3DConfig(Common, TextTo3DOptions):
    pass


def _check(cfg: TextTo3DConfig) -> None:
    require(cfg.trajectory in ("fixed", "annealed"), f"config: trajectory must be fixed or annealed, got {cfg.trajectory!r}")
    require(cfg.view_prompts in ("auto", "on", "off"), f"config: view_prompts must be auto, on or off, got {cfg.view_prompts!r}")
    require(cfg.views >= 1 and 1 <= cfg.views_per_step, "config: views and views_per_step must be >= 1")
    require(cfg.views_per_step <= cfg.views or cfg.method == "sds", "config: views_per_step must be <= views")
    require(cfg.inner_steps >= 1 and cfg.render_size >= 8, "config: inner_steps must be >= 1 and render_size >= 8")
    for key in ("elevation", "fov", "distance"):
        v = getattr(cfg, key)
        require(len(v) == 2 and v[0] <= v[1], f"config: {key} must be a [low, high] pair, got {v}")
    require(all(f in ("glb", "obj", "ply") for f in cfg.mesh_formats), f"config: mesh_formats: glb, obj, ply, got {cfg.mesh_formats}")


def knows_view_words(model: str) -> bool:
    """Whether the prior reads 'side view': any model this project did not train (a CLIP text encoder reads any
    text), and a prior of ours whose captions held the view words (the view-aware one; the flat-icon prior did
    not, and unknown words only add noise to its conditioning)."""
    from ..data.vocabulary import Vocabulary
    from ..priors.embedded import resolve_model

    path = Path(resolve_model(model, OBJECTS))
    if not (path / "training_info.json").is_file():  # what train-prior writes; a hub id or another model's folder
        return True
    vocab = Vocabulary.from_prior(path)
    return vocab is not None and all(w in vocab.words for w in VIEW_WORDS)


def _build(cfg: TextTo3DConfig, prior, inputs):
    knows = knows_view_words(cfg.prior.model)
    return TextTo3DTask(prior, cfg, cfg.run.steps, cfg.run.seed, cfg.prior.negative_prompt, knows), lambda result: {}


register(TaskSpec(
    name="text-to-3d", help="a NeRF from a prompt by multi-view DreamSampler (--method sds baseline): orbit video and mesh",
    config=TextTo3DConfig, build=_build, inputs=("prompt",), methods=METHODS,
    method_help="the distillation rule; sds is the baseline", check=_check, batch=True, order=90, prior=OBJECTS,
    about="A NeRF is distilled from the prior over random views; writes result.png (4 views), orbit.mp4 and "
          "mesh.glb (mesh_formats=[glb,obj,ply]).",
    examples=('dreamsampler3d text-to-3d --prompt "a red cube on top of a blue cylinder" --out out/stack-3d',)))
