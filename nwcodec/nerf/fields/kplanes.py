"""K-Planes-style grid field: factorized feature planes plus a tiny density MLP and colour MLP.

Points are mapped from the scene box ``aabb`` to ``[-1, 1]^3``; the planes' features feed a density
MLP whose extra outputs (``geo_features``) join the direction's spherical harmonics in the colour
MLP. Samples marked invalid (outside the box, or in empty space) are not queried: density 0.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nwcodec.nerf.config import KPlanesConfig
from nwcodec.nerf.field_components import PlaneStack, sh_dim, sh_encode
from nwcodec.nerf.ray_samples import FieldOutputs, RaySamples

DENSITY_SHIFT = -1.0


class KPlanesField(nn.Module):
    """``planes`` (``planes.<k>.weight``), ``density_net`` and ``color_net`` over the box ``aabb`` ``[6]``."""

    def __init__(self, config: KPlanesConfig, aabb: tuple[float, ...]) -> None:
        super().__init__()
        self.config = config
        self.planes = PlaneStack(config.resolutions, config.channels)
        feat = config.channels * len(config.resolutions)
        self.density_net = nn.Sequential(nn.Linear(feat, config.hidden), nn.ReLU(),
                                         nn.Linear(config.hidden, 1 + config.geo_features))
        ch = config.color_hidden
        self.color_net = nn.Sequential(nn.Linear(config.geo_features + sh_dim(config.sh_degree), ch), nn.ReLU(),
                                       nn.Linear(ch, 3))
        box = torch.tensor(aabb, dtype=torch.float32)
        self.register_buffer("box_lo", box[:3], persistent=False)
        self.register_buffer("box_size", box[3:] - box[:3], persistent=False)

    def normalize(self, points: torch.Tensor) -> torch.Tensor:
        """World points -> ``[-1, 1]`` box coordinates (clamped)."""
        return ((points - self.box_lo) / self.box_size * 2.0 - 1.0).clamp(-1.0, 1.0)

    def density(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``points`` ``[N, 3]`` -> ``(density [N], geo features [N, G])``."""
        h = self.density_net(self.planes(self.normalize(points)))
        return F.softplus(h[:, 0] + DENSITY_SHIFT), h[:, 1:]

    def forward(self, points: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``points``, unit ``dirs`` ``[..., 3]`` -> ``(rgb [..., 3], density [...])``."""
        lead = points.shape[:-1]
        density, geo = self.density(points.reshape(-1, 3))
        sh = sh_encode(dirs.reshape(-1, 3), self.config.sh_degree)
        rgb = torch.sigmoid(self.color_net(torch.cat([geo, sh], dim=-1)))
        return rgb.reshape(*lead, 3), density.reshape(lead)

    def get_outputs(self, samples: RaySamples) -> FieldOutputs:
        """Query the valid samples only (packed); invalid ones get density 0 and colour 0."""
        f = samples.frustums
        R, S = samples.shape
        if samples.valid is None:
            rgb, density = self(f.positions(), f.unit_directions())
            return FieldOutputs(rgb, density)
        idx = samples.valid.reshape(-1).nonzero().squeeze(-1)
        ray = torch.div(idx, S, rounding_mode="floor")
        t = f.t.reshape(-1)[idx]
        pts = f.origins[ray] + t[:, None] * f.directions[ray]
        unit = f.directions / f.directions.norm(dim=-1, keepdim=True)
        rgb_v, dens_v = self(pts, unit[ray])
        rgb = torch.zeros(R * S, 3, dtype=rgb_v.dtype, device=rgb_v.device).index_copy(0, idx, rgb_v)
        density = torch.zeros(R * S, dtype=dens_v.dtype, device=dens_v.device).index_copy(0, idx, dens_v)
        return FieldOutputs(rgb.reshape(R, S, 3), density.reshape(R, S))
