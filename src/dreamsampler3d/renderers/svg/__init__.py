"""Differentiable SVG rasteriser in pure PyTorch (exact area coverage), with SVG import and export."""

from .raster import over, render, to_straight
from .scene import LinearGradient, Path, RadialGradient, Scene, Shape, circle, ellipse, polygon, rect

__all__ = ["LinearGradient", "Path", "RadialGradient", "Scene", "Shape", "circle", "ellipse", "over",
           "polygon", "rect", "render", "to_straight"]
