"""``SceneModel``: coarse (+ optional fine) NeRF fields with their render settings.

The model is rebuilt from ``to_config()`` (a JSON-able dict) plus its ``state_dict``.
``forward(origins, dirs)`` renders a batch of rays; sampling is jittered in training mode and
deterministic in eval mode.
"""
from __future__ import annotations

import torch
from torch import nn

from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.fields import NeRFField
from nwcodec.nerf.renderers import volume_render
from nwcodec.nerf.samplers import hierarchical_samples, stratified_samples


class SceneModel(nn.Module):
    """A neural scene: ``coarse`` field, optional ``fine`` field, and :class:`RenderConfig` settings."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.coarse = NeRFField(config.coarse)
        self.fine = NeRFField(config.fine) if config.fine is not None else None
        self.register_buffer("background", torch.tensor(config.render.background, dtype=torch.float32), persistent=False)

    def to_config(self) -> dict:
        """JSON-able description sufficient to rebuild the model (weights aside)."""
        return self.config.to_dict()

    @classmethod
    def from_config(cls, config: dict | ModelConfig) -> "SceneModel":
        return cls(config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config, "model"))

    def _query(self, field: NeRFField, origins: torch.Tensor, dirs: torch.Tensor, t: torch.Tensor,
               norm: torch.Tensor) -> dict[str, torch.Tensor]:
        points = origins[:, None, :] + t[..., None] * dirs[:, None, :]
        unit = (dirs / norm[:, None])[:, None, :].expand_as(points)
        rgb, density = field(points, unit)
        return volume_render(rgb, density, t, norm, self.config.render.far, self.background)

    def forward(self, origins: torch.Tensor, dirs: torch.Tensor,
                generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Render rays ``[R, 3]``: keys ``rgb``, ``depth``, ``acc`` (final pass) and ``rgb_coarse``."""
        rc = self.config.render
        perturb = self.training
        norm = dirs.norm(dim=-1)
        t_c = stratified_samples(origins.shape[0], rc.n_coarse, rc.near, rc.far, perturb, origins.device, generator)
        out_c = self._query(self.coarse, origins, dirs, t_c, norm)
        if self.fine is None:
            return {"rgb": out_c["rgb"], "depth": out_c["depth"], "acc": out_c["acc"], "rgb_coarse": out_c["rgb"]}
        t_f = hierarchical_samples(t_c, out_c["weights"], rc.n_fine, perturb, generator)
        out_f = self._query(self.fine, origins, dirs, t_f, norm)
        return {"rgb": out_f["rgb"], "depth": out_f["depth"], "acc": out_f["acc"], "rgb_coarse": out_c["rgb"]}


def num_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
