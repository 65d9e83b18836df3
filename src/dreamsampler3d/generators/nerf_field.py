"""A NeRF field that runs in plain PyTorch on CPU: a tri-plane encoding, a small MLP, a density blob prior,
and a direction-dependent background. tiny-cuda-nn is not needed; grid_sample does the interpolation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


@dataclass
class FieldConfig:
    plane_resolution: int = 64
    features: int = 16
    hidden: int = 32
    radius: float = 1.0  # the scene lives in [-radius, radius]^3
    blob_density: float = 8.0  # DreamFusion/threestudio density blob: bias = d (1 - |p| / r)
    blob_radius: float = 0.5


class TriplaneField(nn.Module):
    """sigma(p) >= 0 and albedo(p) in [0, 1] for points p [..., 3]."""

    def __init__(self, config: FieldConfig | None = None):
        super().__init__()
        self.config = c = config or FieldConfig()
        self.planes = nn.Parameter(0.1 * torch.randn(3, c.features, c.plane_resolution, c.plane_resolution))
        self.mlp = nn.Sequential(nn.Linear(c.features, c.hidden), nn.SiLU(), nn.Linear(c.hidden, c.hidden), nn.SiLU(),
                                 nn.Linear(c.hidden, 4))

    def features(self, points: Tensor) -> Tensor:
        """[..., 3] -> [..., F]: the sum of bilinear samples of the xy, xz and yz planes."""
        shape = points.shape[:-1]
        p = (points / self.config.radius).reshape(1, -1, 1, 3)  # [1, N, 1, 3] in [-1, 1]
        coords = torch.cat([p[..., [0, 1]], p[..., [0, 2]], p[..., [1, 2]]], dim=0)  # [3, N, 1, 2]
        feats = F.grid_sample(self.planes, coords, mode="bilinear", padding_mode="zeros", align_corners=False)
        return feats.sum(0)[..., 0].transpose(0, 1).reshape(*shape, -1)  # [..., F]

    def blob(self, points: Tensor) -> Tensor:
        c = self.config
        r = points.norm(dim=-1)
        return c.blob_density * (1.0 - r / c.blob_radius)

    def forward(self, points: Tensor) -> tuple[Tensor, Tensor]:
        """points [..., 3] -> sigma [...], albedo [..., 3]."""
        h = self.mlp(self.features(points))
        sigma = F.softplus(h[..., 0] + self.blob(points))
        inside = (points.abs() <= self.config.radius).all(-1)
        return sigma * inside, torch.sigmoid(h[..., 1:])

    def density(self, points: Tensor) -> Tensor:
        return self.forward(points)[0]

    def normals(self, points: Tensor, eps: float = 1e-2) -> Tensor:
        """Unit outward normals -grad sigma / |grad sigma| by central differences, [..., 3]."""
        offsets = eps * torch.eye(3, device=points.device)  # [3, 3]
        plus = self.density(points[..., None, :] + offsets)  # [..., 3]
        minus = self.density(points[..., None, :] - offsets)
        grad = (plus - minus) / (2 * eps)
        return -grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-6)


class DirectionalBackground(nn.Module):
    """A small MLP of the ray direction (DreamFusion's environment map), initialised to mid-grey."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(3, hidden), nn.SiLU(), nn.Linear(hidden, 3))
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)

    def forward(self, dirs: Tensor) -> Tensor:
        return torch.sigmoid(self.mlp(dirs))
