"""The NeRF generator: a field plus background rendered from cameras, with DreamFusion-style shading,
regularisers and mesh export. Parameter groups carry their own learning rates."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from ..renderers.nerf.cameras import Cameras, camera_rays, near_far
from ..renderers.nerf.volume import OccupancyRenderer, nerfacc_cuda_available, render_dense
from .nerf_field import DirectionalBackground, FieldConfig, TriplaneField
from .solid_volume import HAIR, SEAL, drop_hairs, fill_pockets


@dataclass
class NeRFConfig:
    field: FieldConfig = field(default_factory=FieldConfig)
    samples_per_ray: int = 48
    ambient: float = 0.3  # light = ambient + (1 - ambient) max(0, n . l)
    albedo_probability: float = 0.5  # DreamFusion: sometimes render unshaded albedo
    lr_planes: float = 0.05
    lr_mlp: float = 0.01
    lr_background: float = 0.05
    occupancy_grid: bool = True  # used on CUDA only (nerfacc's estimator)


def fixed_level(sigma: Tensor) -> float:
    """The surface level used before the silhouette match (and still without cameras): density 10, or half the
    field's peak when that is lower."""
    return float(min(10.0, 0.5 * float(sigma.max())))


class NeRFGenerator(nn.Module):
    def __init__(self, config: Optional[NeRFConfig] = None):
        super().__init__()
        self.config = config or NeRFConfig()
        self.field = TriplaneField(self.config.field)
        self.background = DirectionalBackground()
        self._occupancy: OccupancyRenderer | None = None

    def parameter_groups(self) -> list[dict]:
        c = self.config
        return [{"params": [self.field.planes], "lr": c.lr_planes, "name": "planes"},
                {"params": list(self.field.mlp.parameters()), "lr": c.lr_mlp, "name": "mlp"},
                {"params": list(self.background.parameters()), "lr": c.lr_background, "name": "background"}]

    def _field_fn(self, points: Tensor, dirs: Tensor) -> tuple[Tensor, Tensor]:
        return self.field(points)

    def render(self, cameras: Cameras, height: int, width: int, shading: str = "albedo", jitter: bool = False,
               generator: torch.Generator | None = None, step: int | None = None) -> dict[str, Tensor]:
        """Images of V cameras: rgb [V, 3, H, W] in [0, 1], opacity [V, 1, H, W], normals-facing penalty [V]."""
        device = self.field.planes.device
        origins, dirs = camera_rays(cameras, height, width)  # [V, H, W, 3]
        v = len(cameras)
        origins, dirs = origins.reshape(-1, 3).to(device), dirs.reshape(-1, 3).to(device)
        near, far = near_far(cameras.distance, self.config.field.radius * 3**0.5)
        rays_per_view = height * width
        if device.type == "cuda" and self.config.occupancy_grid and self._occupancy_usable():
            out = self._render_occupancy(origins, dirs, float(near.min()), float(far.max()), step)
        else:
            near = near.repeat_interleave(rays_per_view).to(device)
            far = far.repeat_interleave(rays_per_view).to(device)
            out = render_dense(self._field_fn, origins, dirs, near, far, self.config.samples_per_ray, jitter, generator)
        albedo, opacity = out["rgb"], out["opacity"]  # [R, 3], [R, 1]
        surface = origins + dirs * out["depth"]
        normals = self.field.normals(surface)  # [R, 3]
        if shading == "albedo":
            rgb = albedo
        else:
            light = torch.nn.functional.normalize(cameras.positions().to(device) + 0.5 * torch.randn(v, 3, generator=generator).to(device), dim=-1)
            lambert = (normals * light.repeat_interleave(rays_per_view, 0)).sum(-1, keepdim=True).clamp_min(0)
            shade = self.config.ambient + (1 - self.config.ambient) * lambert
            rgb = (albedo if shading == "diffuse" else torch.ones_like(albedo)) * shade
        image = rgb + (1 - opacity) * self.background(dirs)
        facing = (opacity * (normals * dirs).sum(-1, keepdim=True).clamp_min(0) ** 2).view(v, -1).mean(1)

        def to_image(x: Tensor) -> Tensor:
            return x.view(v, height, width, -1).permute(0, 3, 1, 2)

        return {"rgb": to_image(image), "opacity": to_image(opacity), "orientation": facing}

    def _occupancy_usable(self) -> bool:
        """nerfacc's CUDA extension loads; otherwise say so once and render densely (same images, slower)."""
        ok, why = nerfacc_cuda_available()
        if not ok:
            warnings.warn(f"nerfacc's CUDA extension is not available ({why}); occupancy grid off, dense rendering")
            self.config.occupancy_grid = False
        return ok

    def _render_occupancy(self, origins, dirs, near, far, step):
        if self._occupancy is None:
            self._occupancy = OccupancyRenderer(self.config.field.radius, 32, origins.device)
        if step is not None and self.training:
            self._occupancy.update(step, self.field.density)
        return self._occupancy.render(self._field_fn, origins, dirs, near, far, (far - near) / self.config.samples_per_ray)

    @torch.no_grad()
    def density_grid(self, resolution: int = 96) -> tuple[Tensor, Tensor]:
        """Density on a regular grid over the scene box: [N, N, N] and the axis coordinates [N]."""
        r = self.config.field.radius
        axis = torch.linspace(-r, r, resolution, device=self.field.planes.device)
        grid = torch.stack(torch.meshgrid(axis, axis, axis, indexing="ij"), dim=-1)  # [N, N, N, 3]
        sigma = torch.cat([self.field.density(chunk) for chunk in grid.view(-1, 3).split(65536)])
        return sigma.view(resolution, resolution, resolution), axis

    @torch.no_grad()
    def silhouette_level(self, cameras: Cameras, size: int = 48, samples: int = 96) -> float:
        """The density level whose surface casts the silhouettes the renders show. A ray crosses the level set
        of ``level`` when the largest density along it exceeds ``level``; the level returned makes those rays
        agree best (IoU) with the rays the volume renderer draws at least half opaque. A fixed level ignores
        how diffuse the field is: on a NeRF fitted to a cube's own views, density 10 meshed a core of a third
        of its volume (docs/text_to_3d.md)."""
        device = self.field.planes.device
        origins, dirs = camera_rays(cameras, size, size)  # [V, S, S, 3]
        origins, dirs = origins.reshape(-1, 3).to(device), dirs.reshape(-1, 3).to(device)
        near, far = near_far(cameras.distance, self.config.field.radius * 3**0.5)
        near = near.repeat_interleave(size * size).to(device)
        far = far.repeat_interleave(size * size).to(device)
        seen, peak = [], []
        ticks = torch.linspace(0, 1, samples, device=device)  # [N]
        for o, d, n, f in zip(origins.split(4096), dirs.split(4096), near.split(4096), far.split(4096)):
            seen.append(render_dense(self._field_fn, o, d, n, f, samples, False, None)["opacity"][:, 0] >= 0.5)
            t = n[:, None] + (f - n)[:, None] * ticks  # [B, N]
            peak.append(self.field.density(o[:, None] + d[:, None] * t[..., None]).amax(1))
        seen, peak = torch.cat(seen), torch.cat(peak)  # [R] each
        if not bool(seen.any()):
            raise ValueError("the density field is empty: no surface to extract")
        candidates = torch.quantile(peak[seen], torch.linspace(0.0, 0.99, 100, device=device))  # [100]
        hits = peak[None] > candidates[:, None]  # [100, R]
        iou = (hits & seen).sum(1) / (hits | seen).sum(1).clamp_min(1)
        return float(candidates[int(iou.argmax())])

    @torch.no_grad()
    def extract_mesh(self, resolution: int = 96, threshold: float | None = None, cameras: Cameras | None = None,
                     fill: bool = True):
        """Marching cubes (scikit-image) on the density grid at ``threshold``, or at the level whose silhouettes
        match the renders from ``cameras``; unless ``fill`` is off, its enclosed pockets filled and its hairs dropped
        (generators/solid_volume.py); vertex colours from the albedo field."""
        import trimesh
        from skimage import measure

        sigma, axis = self.density_grid(resolution)
        if threshold is not None:
            level = threshold
        elif cameras is not None:
            level = self.silhouette_level(cameras)
        else:
            level = fixed_level(sigma)
        spacing = float(axis[1] - axis[0])
        volume = sigma.cpu().numpy()
        if fill and volume.max() > level:
            volume = fill_pockets(volume, level, seal=max(1, round(SEAL / spacing)))
            if round(HAIR / spacing) >= 1:  # on a coarse grid a cell is already wider than a hair
                volume = drop_hairs(volume, level, width=round(HAIR / spacing))
        if not (float(volume.min()) < level < float(volume.max())):
            raise ValueError("the density field is empty: no surface to extract")
        verts, faces, _, _ = measure.marching_cubes(volume, level=level)
        verts = verts * spacing + float(axis[0])
        # marching_cubes orients faces for rising values; density falls outwards, so flip to face out
        mesh = trimesh.Trimesh(vertices=verts, faces=faces[:, ::-1].copy(), process=False)
        albedo = self.surface_colours(torch.from_numpy(verts).float().to(axis.device),
                                      torch.from_numpy(np.array(mesh.vertex_normals)).float().to(axis.device),
                                      depth=2 * spacing)
        mesh.visual.vertex_colors = (albedo.clamp(0, 1).cpu().numpy() * 255).round().astype(np.uint8)
        return mesh

    @torch.no_grad()
    def surface_colours(self, verts: Tensor, normals: Tensor, depth: float, samples: int = 6) -> Tensor:
        """The albedo [V, 3] a camera sees at each vertex [V, 3]: the density-weighted mean of the albedo along a
        short segment from just outside the surface to ``depth`` inside it, against the outward ``normals``
        [V, 3]. Read at the vertex alone, a filled pocket's surface (generators/solid_volume.py) shows the
        albedo of space the renders never drew: specks of cyan on a red cube."""
        offsets = torch.linspace(-0.25, 1.0, samples, device=verts.device) * depth  # [S]
        colours = []
        for v, n in zip(verts.split(16384), normals.split(16384)):
            points = v[:, None] - n[:, None] * offsets[None, :, None]  # [B, S, 3]
            sigma, albedo = self.field(points.reshape(-1, 3))
            w = sigma.reshape(len(v), samples, 1).clamp_min(0) + 1e-6  # [B, S, 1]
            colours.append((w * albedo.reshape(len(v), samples, 3)).sum(1) / w.sum(1))
        return torch.cat(colours)
