"""Make an extracted NeRF surface something a user can place in a scene: its main piece only (marching cubes
also meshes every wisp of density the optimisation left), smoothed, standing upright in glTF's y-up convention
and resting on the ground plane, centred on it."""

from __future__ import annotations

import numpy as np

# the renderer's cameras orbit about +z; glTF (and most viewers) take +y as up: (x, y, z) -> (x, z, -y)
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, -1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def _size(piece) -> float:
    """A piece's volume when it is closed, else its area (a comparable measure of how much of it there is)."""
    return abs(float(piece.volume)) if piece.is_watertight else float(piece.area)


def main_pieces(mesh, keep: float = 0.25):
    """The largest connected piece, and any other piece at least ``keep`` x its size (a composition's second
    object); smaller floaters go. Returns the mesh and the share of the whole that was kept."""
    import trimesh

    pieces = mesh.split(only_watertight=False)
    if len(pieces) <= 1:
        return mesh, 1.0
    sizes = np.array([_size(p) for p in pieces])
    chosen = [p for p, s in zip(pieces, sizes) if s >= keep * sizes.max()]
    kept = trimesh.util.concatenate(chosen)
    return kept, float(sum(_size(p) for p in chosen) / max(sizes.sum(), 1e-12))


def tidy(mesh, smooth_iterations: int = 10):
    """Main pieces, Taubin-smoothed (marching cubes' staircase goes, volume and size stay), y-up, centred on
    the ground plane (lowest point at y = 0). Returns the mesh and the share of it kept."""
    import trimesh

    kept, share = main_pieces(mesh)
    if smooth_iterations > 0:
        trimesh.smoothing.filter_taubin(kept, iterations=smooth_iterations)
    kept.apply_transform(Z_UP_TO_Y_UP)
    lo, hi = kept.bounds
    kept.apply_translation([-(lo[0] + hi[0]) / 2, -lo[1], -(lo[2] + hi[2]) / 2])
    return kept, share
