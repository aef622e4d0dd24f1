"""Typed ray samples exchanged by samplers, fields and renderers (after nerfstudio's ``RaySamples``).

Rays are ``origins + t * directions`` with camera directions of any length; ``t`` is in units of
that length, so ``t`` in ``[near, far]`` means the camera's depth range.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Frustums:
    """The sampled segments of ``R`` rays, ``S`` per ray: ray origins/directions ``[R, 3]``, segment
    ``starts``/``ends`` and representative depths ``t`` ``[R, S]`` (in units of ``|direction|``)."""

    origins: torch.Tensor
    directions: torch.Tensor
    starts: torch.Tensor
    ends: torch.Tensor
    t: torch.Tensor

    def positions(self) -> torch.Tensor:
        """World points ``[R, S, 3]`` at depths ``t``."""
        return self.origins[:, None, :] + self.t[..., None] * self.directions[:, None, :]

    def unit_directions(self) -> torch.Tensor:
        """Unit view directions ``[R, S, 3]`` (broadcast view, not a copy)."""
        unit = self.directions / self.directions.norm(dim=-1, keepdim=True)
        return unit[:, None, :].expand(*self.t.shape, 3)


@dataclass
class RaySamples:
    """Samples along rays: their :class:`Frustums` and ``valid`` ``[R, S]`` (bool; ``None`` = all), e.g.
    False outside the scene box or in empty space, where a field is not queried and density is 0."""

    frustums: Frustums
    valid: torch.Tensor | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.frustums.t.shape)  # type: ignore[return-value]

    def deltas(self) -> torch.Tensor:
        """Metric segment lengths ``[R, S]`` (``(ends - starts) * |direction|``)."""
        norm = self.frustums.directions.norm(dim=-1)
        return (self.frustums.ends - self.frustums.starts).clamp_min(0.0) * norm[:, None]

    def select(self, rays: torch.Tensor) -> "RaySamples":
        """The samples of the rays indexed by ``rays`` (an index or bool tensor over ``R``)."""
        f = self.frustums
        sub = Frustums(f.origins[rays], f.directions[rays], f.starts[rays], f.ends[rays], f.t[rays])
        return RaySamples(sub, None if self.valid is None else self.valid[rays])

    def slice(self, lo: int, hi: int) -> "RaySamples":
        """Samples ``lo:hi`` of every ray."""
        f = self.frustums
        sub = Frustums(f.origins, f.directions, f.starts[:, lo:hi], f.ends[:, lo:hi], f.t[:, lo:hi])
        return RaySamples(sub, None if self.valid is None else self.valid[:, lo:hi])


@dataclass
class FieldOutputs:
    """What a field returns for :class:`RaySamples`: ``rgb`` ``[R, S, 3]`` in (0, 1), ``density`` ``[R, S]`` >= 0."""

    rgb: torch.Tensor
    density: torch.Tensor
