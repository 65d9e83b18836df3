"""A NeRF's density grid made into the solid a user means, before marching cubes (docs/text_to_3d.md).

Score distillation and image fits only constrain the first surface each camera ray meets. A fitted field is then a
dense shell round a thin interior, pierced where its wall is one cell thick, and it grows one-cell hairs and
flanges no camera objects to. Both are fixed on the grid, with scipy's binary morphology, where they are cheap.
"""

from __future__ import annotations

import numpy as np

SEAL = 0.065  # scene units: a shell's openings up to about twice this wide are sealed (a torus's hole is 0.4)
HAIR = 0.02  # scene units per cell of opening: one cell at 96^3 over [-1, 1]^3, where parts thinner than 3 cells
# (0.063) go; skipped on grids coarser than 2 x HAIR a cell (48^3), where 3 cells would be a torus's tube


def _cube():
    """The 3x3x3 element. scipy's default cross is a diamond when iterated: its tip pokes into a hole and the
    erosion reopens it, so a closing with it sealed nothing."""
    from scipy.ndimage import generate_binary_structure

    return generate_binary_structure(3, 3)


def fill_pockets(volume: np.ndarray, level: float, seal: int) -> np.ndarray:
    """The density grid [N, N, N] with every pocket the surface at ``level`` encloses raised to 2 x ``level``,
    counting as enclosed a pocket whose openings are at most about 2 x ``seal`` cells wide. Marching cubes would
    otherwise mesh the shell's inner wall too, and a hollow box is not a solid cube."""
    from scipy.ndimage import binary_closing, binary_fill_holes

    inside = volume > level
    sealed = binary_closing(inside, _cube(), iterations=seal, border_value=0)
    pockets = binary_fill_holes(sealed | inside) & ~inside
    return np.where(pockets, np.float32(2 * level), volume).astype(volume.dtype)


def drop_hairs(volume: np.ndarray, level: float, width: int) -> np.ndarray:
    """The density grid [N, N, N] with solid parts thinner than 2 x ``width`` + 1 cells lowered to half
    ``level`` (a morphological opening): hairs and one-cell flanges go, a body keeps its corners."""
    from scipy.ndimage import binary_opening

    inside = volume > level
    kept = binary_opening(inside, _cube(), iterations=width)
    return np.where(inside & ~kept, np.float32(0.5 * level), volume).astype(volume.dtype)
