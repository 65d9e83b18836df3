"""Metrics measured on the output files themselves (SVG quality judged through cairosvg)."""

from .svg_quality import (count_visible, drawable_elements, path_segments, render_svg,
                          self_intersecting, stray_ink, svg_report, visible_elements)

__all__ = ["count_visible", "drawable_elements", "path_segments", "render_svg",
           "self_intersecting", "stray_ink", "svg_report", "visible_elements"]
