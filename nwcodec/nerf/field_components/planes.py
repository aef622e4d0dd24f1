"""Multi-resolution factorized feature planes (K-Planes): per resolution three planes xy, xz, yz.

Parameters are named ``<prefix>.<k>.weight`` with shape ``[C, R, R]``, plane ``k = 3 * level + p``
for plane ``p`` of :data:`PLANE_AXES` (the EPR-on-grids reparameterization matches on these names).
A point's feature at one level is the Hadamard product of its three bilinear plane samples; levels
are concatenated, giving ``C * len(resolutions)`` features.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

PLANE_AXES = ((0, 1), (0, 2), (1, 2))  # xy, xz, yz: (grid_sample x -> width axis, y -> height axis)
INIT_RANGE = (0.9, 1.1)  # multiplicative planes start near 1, so every level passes signal at init


class Plane(nn.Module):
    """One feature plane: ``weight`` ``[C, R, R]`` (rows follow the second axis, columns the first)."""

    def __init__(self, channels: int, resolution: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(channels, resolution, resolution).uniform_(*INIT_RANGE))


class PlaneStack(nn.ModuleList):
    """All planes, three per resolution; ``forward(x)`` with ``x`` ``[N, 3]`` in ``[-1, 1]`` -> ``[N, C * L]``."""

    def __init__(self, resolutions: tuple[int, ...], channels: int) -> None:
        super().__init__(Plane(channels, r) for r in resolutions for _ in PLANE_AXES)
        self.levels = len(resolutions)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        coords = torch.stack([x[:, list(ax)] for ax in PLANE_AXES])[:, None]  # [3, 1, N, 2]
        feats = []
        for level in range(self.levels):
            w = torch.stack([self[3 * level + p].weight for p in range(3)])  # [3, C, R, R]
            s = F.grid_sample(w, coords, mode="bilinear", padding_mode="border", align_corners=True)  # [3, C, 1, N]
            feats.append((s[0] * s[1] * s[2])[:, 0])  # [C, N]
        return torch.cat(feats, dim=0).t()
