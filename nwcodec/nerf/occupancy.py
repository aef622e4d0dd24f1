"""Occupancy grid for empty-space skipping, built deterministically from a field's density (pure torch).

The density is evaluated at the ``(N + 1)^3`` lattice vertices of an ``N^3`` grid over the scene
box; a cell is occupied when any of its corners exceeds ``threshold``, then dilated by one cell so
thin surfaces between vertices are kept.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

DEFAULT_RESOLUTION = 64
DEFAULT_THRESHOLD = 0.05  # density (1/length): alpha < 0.5% over a typical 0.08 step


class OccupancyGrid:
    """A boolean grid ``occupied`` ``[N, N, N]`` (x, y, z index order) over ``aabb`` ``[6]``."""

    def __init__(self, occupied: torch.Tensor, aabb: torch.Tensor) -> None:
        self.occupied = occupied
        self.aabb = aabb
        self.resolution = occupied.shape[0]

    @classmethod
    @torch.no_grad()
    def build(cls, density_fn: Callable[[torch.Tensor], torch.Tensor], aabb: torch.Tensor,
              resolution: int = DEFAULT_RESOLUTION, threshold: float = DEFAULT_THRESHOLD,
              chunk: int = 65536) -> "OccupancyGrid":
        """Grid of ``density_fn`` (``[M, 3]`` world points -> ``[M]``) over ``aabb``."""
        n = resolution + 1
        axis = torch.linspace(0.0, 1.0, n, device=aabb.device)
        gx, gy, gz = torch.meshgrid(axis, axis, axis, indexing="ij")
        pts = aabb[:3] + torch.stack([gx, gy, gz], dim=-1).reshape(-1, 3) * (aabb[3:] - aabb[:3])
        dens = torch.cat([density_fn(pts[i : i + chunk]) for i in range(0, pts.shape[0], chunk)])
        vert = (dens > threshold).float().reshape(1, 1, n, n, n)
        cells = F.max_pool3d(vert, kernel_size=2, stride=1)  # any corner above threshold
        cells = F.max_pool3d(cells, kernel_size=3, stride=1, padding=1)  # one-cell dilation
        return cls(cells[0, 0] > 0, aabb)

    def query(self, points: torch.Tensor) -> torch.Tensor:
        """Whether each point ``[..., 3]`` lies in an occupied cell (points outside the box: False)."""
        lo, hi = self.aabb[:3], self.aabb[3:]
        rel = (points - lo) / (hi - lo)
        inside = ((rel >= 0) & (rel <= 1)).all(dim=-1)
        idx = (rel * self.resolution).long().clamp(0, self.resolution - 1)
        flat = (idx[..., 0] * self.resolution + idx[..., 1]) * self.resolution + idx[..., 2]
        return inside & self.occupied.reshape(-1)[flat]

    @property
    def fraction(self) -> float:
        """Share of occupied cells."""
        return float(self.occupied.float().mean())
