"""The NeRF MLP: encoded position (and view direction) -> colour and volume density.

Layers are plain :class:`torch.nn.Linear` modules so weight reparameterisations
(``torch.nn.utils.parametrize``) apply unchanged. The field is rebuilt from its
:class:`FieldConfig` alone.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from nwcodec.nerf.config import FieldConfig
from nwcodec.nerf.encoding import PositionalEncoding
from nwcodec.nerf.ray_samples import FieldOutputs, RaySamples

DENSITY_SHIFT = -1.0  # softplus(raw - 1): small initial density, as in mip-NeRF


class NeRFField(nn.Module):
    """MLP of ``depth`` x ``width`` with skip connections; optional view-dependent colour head."""

    def __init__(self, config: FieldConfig) -> None:
        super().__init__()
        self.config = config
        self.pos_enc = PositionalEncoding(3, config.pos_freqs)
        in_dim, w = self.pos_enc.out_dim, config.width
        dims = [in_dim] + [w + (in_dim if i in config.skips else 0) for i in range(1, config.depth)]
        self.trunk = nn.ModuleList(nn.Linear(d, w) for d in dims)
        self.density_head = nn.Linear(w, 1)
        if config.view_dependent:
            self.dir_enc = PositionalEncoding(3, config.dir_freqs)
            self.feature = nn.Linear(w, w)
            self.view_layer = nn.Linear(w + self.dir_enc.out_dim, w // 2)
            self.rgb_head = nn.Linear(w // 2, 3)
        else:
            self.rgb_head = nn.Linear(w, 3)

    def to_config(self) -> dict:
        """JSON-able description sufficient to rebuild the field (weights aside)."""
        return self.config.to_dict()

    @classmethod
    def from_config(cls, config: dict | FieldConfig) -> "NeRFField":
        return cls(config if isinstance(config, FieldConfig) else FieldConfig.from_dict(config, "field"))

    def forward(self, points: torch.Tensor, dirs: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``points`` ``[..., 3]``, unit ``dirs`` ``[..., 3]`` -> ``(rgb [..., 3] in (0,1), density [...] >= 0)``."""
        x_in = self.pos_enc(points)
        h = x_in
        for i, layer in enumerate(self.trunk):
            if i in self.config.skips:
                h = torch.cat([h, x_in], dim=-1)
            h = F.relu(layer(h))
        density = F.softplus(self.density_head(h)[..., 0] + DENSITY_SHIFT)
        if self.config.view_dependent:
            if dirs is None:
                raise ValueError("a view-dependent field needs ray directions")
            h = torch.cat([self.feature(h), self.dir_enc(dirs)], dim=-1)
            h = F.relu(self.view_layer(h))
        rgb = torch.sigmoid(self.rgb_head(h))
        return rgb, density

    def get_outputs(self, samples: RaySamples) -> FieldOutputs:
        """Colour and density at every sample (an MLP field queries all of them)."""
        rgb, density = self(samples.frustums.positions(), samples.frustums.unit_directions())
        return FieldOutputs(rgb, density)
