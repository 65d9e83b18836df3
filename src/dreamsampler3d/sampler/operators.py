"""Linear degradation operators A with exact adjoints A^T, on pixel tensors [B, C, H, W].

Each operator is matrix-free; ``tests/test_operators.py`` checks <A x, y> = <x, A^T y> numerically.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
import torch.nn.functional as F
from torch import Tensor


class LinearOperator(ABC):
    noise_sigma: float = 0.0

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """x [B, C, H, W] -> measurement y."""

    @abstractmethod
    def adjoint(self, y: Tensor) -> Tensor:
        """measurement y -> [B, C, H, W]."""

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def measurement_shape(self, height: int, width: int) -> tuple[int, int]:
        return height, width

    def back_project(self, residual: Tensor) -> Tensor | None:
        """A smooth image-space step [B, C, H, W] for a measurement residual, or None where the CG solve of the
        normal equations is the right last projection (sampler/cg.py: project_onto_measurement)."""
        return None

    def degrade(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Simulate a measurement: y = A x + sigma n."""
        y = self.forward(x)
        if self.noise_sigma > 0:
            y = y + self.noise_sigma * torch.randn(y.shape, generator=generator, dtype=y.dtype).to(y.device)
        return y


class Identity(LinearOperator):
    """Denoising: A = I, with the measurement's noise level carried for simulation."""

    def __init__(self, noise_sigma: float = 0.0):
        self.noise_sigma = float(noise_sigma)

    def forward(self, x: Tensor) -> Tensor:
        return x

    def adjoint(self, y: Tensor) -> Tensor:
        return y


class Mask(LinearOperator):
    """Inpainting: keep observed pixels. ``observed`` is 1 where the pixel is known, [B or 1, 1, H, W]."""

    def __init__(self, observed: Tensor, noise_sigma: float = 0.0):
        self.observed = observed.float()
        self.noise_sigma = float(noise_sigma)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.observed.to(x)

    def adjoint(self, y: Tensor) -> Tensor:
        return y * self.observed.to(y)


class Downsample(LinearOperator):
    """Super-resolution: box average over factor x factor blocks; the adjoint spreads each value back / f^2."""

    def __init__(self, factor: int, noise_sigma: float = 0.0):
        if factor < 1:
            raise ValueError(f"down-sampling factor must be >= 1, got {factor}")
        self.factor = int(factor)
        self.noise_sigma = float(noise_sigma)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.factor)

    def adjoint(self, y: Tensor) -> Tensor:
        f = self.factor
        return y.repeat_interleave(f, dim=-2).repeat_interleave(f, dim=-1) / (f * f)

    def back_project(self, residual: Tensor) -> Tensor:
        """Bicubic up-sampling [B, C, h, w] -> [B, C, f h, f w]. The least-norm correction A^T (A A^T)^-1 r is
        constant over each f x f block, so a last projection with it prints the measurement's grid on the
        result as steps (docs/dreamsampler.md, "The last projection")."""
        return F.interpolate(residual, scale_factor=self.factor, mode="bicubic", align_corners=False)

    def measurement_shape(self, height: int, width: int) -> tuple[int, int]:
        return height // self.factor, width // self.factor


def gaussian_kernel(sigma: float, radius: int | None = None) -> Tensor:
    """Normalised 1-D Gaussian [2r + 1]."""
    radius = int(math.ceil(3 * sigma)) if radius is None else radius
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


class GaussianBlur(LinearOperator):
    """Deblurring: separable Gaussian with zero padding ('same' size); the adjoint is the transposed conv."""

    def __init__(self, sigma: float = 2.0, noise_sigma: float = 0.0):
        if sigma <= 0:
            raise ValueError(f"blur sigma must be > 0, got {sigma}")
        self.sigma = float(sigma)
        self.kernel = gaussian_kernel(self.sigma)
        self.noise_sigma = float(noise_sigma)

    def _weights(self, x: Tensor) -> tuple[Tensor, Tensor, int]:
        c = x.shape[1]
        k = self.kernel.to(x)
        r = k.numel() // 2
        return k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), r

    def forward(self, x: Tensor) -> Tensor:
        kh, kv, r = self._weights(x)
        c = x.shape[1]
        x = F.conv2d(x, kh, padding=(0, r), groups=c)
        return F.conv2d(x, kv, padding=(r, 0), groups=c)

    def adjoint(self, y: Tensor) -> Tensor:
        kh, kv, r = self._weights(y)
        c = y.shape[1]
        y = F.conv_transpose2d(y, kv, padding=(r, 0), groups=c)
        return F.conv_transpose2d(y, kh, padding=(0, r), groups=c)


DEGRADATIONS = ("sr4", "sr8", "blur", "inpaint", "noise")  # make_operator's kinds: the CLI's --degradation


def make_operator(kind: str, *, observed: Tensor | None = None, blur_sigma: float = 2.0, noise_sigma: float = 0.0) -> LinearOperator:
    """The CLI's --degradation names: sr4, sr8, blur, inpaint, noise."""
    if kind in ("sr4", "sr8"):
        return Downsample(int(kind[2:]), noise_sigma)
    if kind == "blur":
        return GaussianBlur(blur_sigma, noise_sigma)
    if kind == "inpaint":
        if observed is None:
            raise ValueError("the inpaint degradation needs a mask")
        return Mask(observed, noise_sigma)
    if kind == "noise":
        return Identity(noise_sigma)
    raise ValueError(f"unknown degradation {kind!r} (sr4, sr8, blur, inpaint, noise)")
