"""Compositing samples along rays: nerfacc's dense functions on any device, a plain-PyTorch reference beside
them (the test checks they agree), and nerfacc's occupancy-grid estimator with packed rendering on CUDA."""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

FieldFn = Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]  # (points [..., 3], dirs [..., 3]) -> (sigma [...], rgb [..., 3])


def stratified_samples(near: Tensor, far: Tensor, n_rays: int, n_samples: int, jitter: bool,
                       generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Interval starts and ends [R, S] between per-ray near and far [R]; jittered within bins when training."""
    u = torch.linspace(0.0, 1.0, n_samples + 1, device=near.device)  # [S + 1]
    edges = near[:, None] + (far - near)[:, None] * u[None]  # [R, S + 1]
    if jitter:
        width = (far - near)[:, None] / n_samples
        offset = torch.rand(n_rays, 1, generator=generator).to(near.device) * width
        edges = torch.cat([edges[:, :1], edges[:, 1:-1] + offset - 0.5 * width, edges[:, -1:]], dim=1)
        edges = torch.sort(edges, dim=1).values
    return edges[:, :-1], edges[:, 1:]


def composite_reference(t_starts: Tensor, t_ends: Tensor, sigmas: Tensor, rgbs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Plain PyTorch: alpha = 1 - exp(-sigma dt), T = exclusive cumprod(1 - alpha). Returns colour [R, 3],
    opacity [R, 1], weights [R, S]."""
    alpha = 1.0 - torch.exp(-sigmas * (t_ends - t_starts))
    trans = torch.cumprod(torch.cat([torch.ones_like(alpha[:, :1]), 1.0 - alpha[:, :-1] + 1e-10], dim=1), dim=1)
    weights = alpha * trans
    return (weights[..., None] * rgbs).sum(1), weights.sum(1, keepdim=True), weights


def composite_nerfacc(t_starts: Tensor, t_ends: Tensor, sigmas: Tensor, rgbs: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """The same through nerfacc's dense [rays, samples] functions (these run on CPU too)."""
    from nerfacc import accumulate_along_rays, render_weight_from_density

    weights, _, _ = render_weight_from_density(t_starts, t_ends, sigmas)
    colour = accumulate_along_rays(weights, values=rgbs)
    opacity = accumulate_along_rays(weights, values=None)
    return colour, opacity, weights


def nerfacc_available() -> bool:
    try:
        import nerfacc  # noqa: F401
    except Exception:
        return False
    return True


_CUDA_EXTENSION: tuple[bool, str] | None = None


def nerfacc_cuda_available() -> tuple[bool, str]:
    """Whether nerfacc's CUDA extension loads, and why not. nerfacc builds it on first use with the CUDA
    toolkit (nvcc) and leaves it None without one; a pip-only GPU install has no nvcc, and nerfacc 0.5.3's
    sources fail under C++20 (a global lerp() clashes with std::lerp: torch >= 2.11's extension flags)."""
    global _CUDA_EXTENSION
    if _CUDA_EXTENSION is None:
        try:
            from nerfacc.cuda._backend import _C

            _CUDA_EXTENSION = (_C is not None, "" if _C is not None else "no CUDA toolkit (nvcc) to build it")
        except Exception as exc:  # a failed JIT build raises from inside torch's cpp_extension
            lines = str(exc).strip().splitlines() or [""]
            _CUDA_EXTENSION = (False, f"{type(exc).__name__}: {lines[-1][:200]}")
    return _CUDA_EXTENSION


def render_dense(field: FieldFn, origins: Tensor, dirs: Tensor, near: Tensor, far: Tensor, n_samples: int,
                 jitter: bool = False, generator: torch.Generator | None = None) -> dict[str, Tensor]:
    """Render rays [R, 3] with S stratified samples each. Returns rgb [R, 3], opacity [R, 1], depth [R, 1]."""
    n_rays = origins.shape[0]
    t0, t1 = stratified_samples(near, far, n_rays, n_samples, jitter, generator)  # [R, S]
    mids = 0.5 * (t0 + t1)
    points = origins[:, None] + dirs[:, None] * mids[..., None]  # [R, S, 3]
    sigma, rgb = field(points, dirs[:, None].expand_as(points))
    composite = composite_nerfacc if nerfacc_available() else composite_reference
    colour, opacity, weights = composite(t0, t1, sigma, rgb)
    depth = (weights * mids).sum(1, keepdim=True) / opacity.clamp_min(1e-6)
    return {"rgb": colour, "opacity": opacity, "depth": depth, "weights": weights}


class OccupancyRenderer:
    """CUDA only: nerfacc's occupancy grid skips empty space and renders packed samples."""

    def __init__(self, radius: float, resolution: int = 32, device: str | torch.device = "cuda"):
        from nerfacc import OccGridEstimator

        aabb = torch.tensor([-radius, -radius, -radius, radius, radius, radius], device=device)
        self.estimator = OccGridEstimator(roi_aabb=aabb, resolution=resolution, levels=1).to(device)
        self.radius = radius
        self.stats = {"renders": 0, "rays": 0, "samples": 0}  # what went through the grid (tests, benchmarks)

    def update(self, step: int, density_fn: Callable[[Tensor], Tensor], threshold: float = 0.01) -> None:
        self.estimator.update_every_n_steps(step=step, occ_eval_fn=lambda x: density_fn(x) * 0.01,
                                            occ_thre=threshold, n=1)

    def render(self, field: FieldFn, origins: Tensor, dirs: Tensor, near: float, far: float, step_size: float) -> dict[str, Tensor]:
        from nerfacc import rendering

        def sigma_fn(t_starts, t_ends, ray_indices):
            pos = origins[ray_indices] + dirs[ray_indices] * 0.5 * (t_starts + t_ends)[:, None]
            return field(pos, dirs[ray_indices])[0]

        def rgb_sigma_fn(t_starts, t_ends, ray_indices):
            pos = origins[ray_indices] + dirs[ray_indices] * 0.5 * (t_starts + t_ends)[:, None]
            sigma, rgb = field(pos, dirs[ray_indices])
            return rgb, sigma

        ray_indices, t_starts, t_ends = self.estimator.sampling(origins, dirs, sigma_fn=sigma_fn, near_plane=near,
                                                                far_plane=far, render_step_size=step_size)
        colour, opacity, depth, _ = rendering(t_starts, t_ends, ray_indices, n_rays=origins.shape[0],
                                              rgb_sigma_fn=rgb_sigma_fn)
        self.stats["renders"] += 1
        self.stats["rays"] += int(origins.shape[0])
        self.stats["samples"] += int(t_starts.shape[0])
        return {"rgb": colour, "opacity": opacity, "depth": depth / opacity.clamp_min(1e-6)}
