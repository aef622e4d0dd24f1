"""``SceneModel``: the fields of a registered model type with their render settings.

The model is rebuilt from ``to_config()`` (a JSON-able dict) plus its ``state_dict``.
``forward(origins, dirs)`` renders a batch of rays; sampling is jittered in training mode and
deterministic in eval mode.
"""
from __future__ import annotations

import torch
from torch import nn

from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.model_types import MODEL_TYPES


class SceneModel(nn.Module):
    """A neural scene of ``config.type`` (see :mod:`nwcodec.nerf.model_types`) with its render settings:
    ``mlp`` has ``coarse`` and optional ``fine`` fields, ``kplanes`` one grid ``field``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        MODEL_TYPES[config.type].build(self, config)
        self.register_buffer("background", torch.tensor(config.render.background, dtype=torch.float32), persistent=False)

    def to_config(self) -> dict:
        """JSON-able description sufficient to rebuild the model (weights aside)."""
        return self.config.to_dict()

    @classmethod
    def from_config(cls, config: dict | ModelConfig) -> "SceneModel":
        return cls(config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config, "model"))

    def forward(self, origins: torch.Tensor, dirs: torch.Tensor,
                generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Render rays ``[R, 3]``: keys ``rgb``, ``depth``, ``acc`` (final pass) and ``rgb_coarse``;
        sampling is jittered in training mode and deterministic in eval mode."""
        return MODEL_TYPES[self.config.type].render(self, origins, dirs, generator)


def num_parameters(model: nn.Module) -> int:
    """Number of trainable scalars in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
