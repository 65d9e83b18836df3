"""Cameras on a sphere looking at the origin, and their rays. Convention: +z up, azimuth 0 looks along -x
(the 'front' view), OpenGL-style camera frame (the camera looks down its -z axis)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class CameraRanges:
    """Where random cameras may sit: degrees and scene units."""

    elevation: tuple[float, float] = (-10.0, 45.0)
    azimuth: tuple[float, float] = (-180.0, 180.0)
    fov: tuple[float, float] = (40.0, 70.0)
    distance: tuple[float, float] = (1.5, 2.0)


@dataclass(frozen=True)
class Cameras:
    """A batch of V cameras."""

    elevation: Tensor  # [V] degrees
    azimuth: Tensor  # [V] degrees
    fov: Tensor  # [V] degrees, vertical
    distance: Tensor  # [V]

    def __len__(self) -> int:
        return int(self.elevation.numel())

    def positions(self) -> Tensor:
        """[V, 3] camera centres."""
        el, az = torch.deg2rad(self.elevation), torch.deg2rad(self.azimuth)
        return torch.stack([self.distance * torch.cos(el) * torch.cos(az),
                            self.distance * torch.cos(el) * torch.sin(az),
                            self.distance * torch.sin(el)], dim=-1)

    def to_dict(self) -> dict[str, Tensor]:
        return {"elevation": self.elevation, "azimuth": self.azimuth, "fov": self.fov, "distance": self.distance}

    def __getitem__(self, index) -> "Cameras":
        """The cameras at ``index`` (an int, a slice, an index tensor), always a batch: [1] for an int."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return Cameras(**{k: v[index] for k, v in self.to_dict().items()})

    __iter__ = None  # not a sequence of cameras: index it, or read its tensors

    @staticmethod
    def cat(batches: list["Cameras"]) -> "Cameras":
        if not batches:
            raise ValueError("Cameras.cat needs at least one batch of cameras")
        return Cameras(**{k: torch.cat([b.to_dict()[k] for b in batches]) for k in batches[0].to_dict()})


def sample_cameras(n: int, ranges: CameraRanges, generator: torch.Generator | None = None) -> Cameras:
    """Uniform in each range (elevation uniform in angle, like DreamFusion's default)."""
    def uniform(lo_hi: tuple[float, float]) -> Tensor:
        lo, hi = lo_hi
        return lo + (hi - lo) * torch.rand(n, generator=generator)

    return Cameras(uniform(ranges.elevation), uniform(ranges.azimuth), uniform(ranges.fov), uniform(ranges.distance))


def orbit_cameras(n: int, elevation: float = 15.0, fov: float = 55.0, distance: float = 1.8) -> Cameras:
    """n cameras evenly around the object, for videos and fixed-view trajectories."""
    az = torch.arange(n, dtype=torch.float32) * (360.0 / n) - 180.0
    full = lambda v: torch.full((n,), float(v))  # noqa: E731
    return Cameras(full(elevation), az, full(fov), full(distance))


def surface_cameras(ranges: CameraRanges) -> Cameras:
    """The views an extracted mesh's surface is matched to: 8 around the object at the middle of the elevation
    range and 4 at its top, at the middle distance and field of view (the views the object was shaped from)."""
    fov, distance = sum(ranges.fov) / 2, sum(ranges.distance) / 2
    return Cameras.cat([orbit_cameras(8, sum(ranges.elevation) / 2, fov, distance),
                        orbit_cameras(4, ranges.elevation[1], fov, distance)])


def camera_rays(cameras: Cameras, height: int, width: int) -> tuple[Tensor, Tensor]:
    """Ray origins and unit directions through pixel centres, [V, H, W, 3] each."""
    centre = cameras.positions()  # [V, 3]
    forward = -centre / centre.norm(dim=-1, keepdim=True)  # looks at the origin
    up_world = torch.tensor([0.0, 0.0, 1.0]).expand_as(forward)
    right = torch.linalg.cross(forward, up_world, dim=-1)
    right = right / right.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    up = torch.linalg.cross(right, forward, dim=-1)
    focal = 0.5 * height / torch.tan(0.5 * torch.deg2rad(cameras.fov))  # [V] pixels
    j, i = torch.meshgrid(torch.arange(height, dtype=torch.float32) + 0.5,
                          torch.arange(width, dtype=torch.float32) + 0.5, indexing="ij")
    x = (i - 0.5 * width)[None] / focal[:, None, None]  # [V, H, W]
    y = (0.5 * height - j)[None] / focal[:, None, None]
    dirs = forward[:, None, None] + x[..., None] * right[:, None, None] + y[..., None] * up[:, None, None]
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    return centre[:, None, None].expand_as(dirs), dirs


def view_word(azimuth_deg: float, front: float = 45.0, back: float = 135.0) -> str:
    """DreamFusion's view-dependent prompt suffix from the camera's azimuth."""
    a = abs((azimuth_deg + 180.0) % 360.0 - 180.0)
    if a <= front:
        return "front view"
    if a >= back:
        return "back view"
    return "side view"


def view_phrase(elevation_deg: float, azimuth_deg: float) -> str:
    """The view words of a prompt: overhead and from below by elevation, else front / side / back by azimuth (the
    words the view-aware prior's captions use, data/objects3d.py)."""
    if elevation_deg >= 60:
        return "overhead view"
    if elevation_deg <= -30:
        return "view from below"
    return view_word(azimuth_deg)


VIEW_WORDS = ("front", "side", "back", "overhead", "view", "from", "below")  # every word view_phrase writes


def near_far(distance: Tensor, radius: float) -> tuple[Tensor, Tensor]:
    """Ray segment covering the bounding sphere of the scene for cameras at ``distance``. [V] each."""
    return (distance - radius).clamp_min(0.05), distance + radius


__all__ = ["CameraRanges", "Cameras", "sample_cameras", "orbit_cameras", "surface_cameras", "camera_rays", "view_word", "view_phrase", "VIEW_WORDS", "near_far"]
_ = math
