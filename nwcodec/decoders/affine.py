"""``"affine"``: ``w = float32(latent) * scale[c] + offset[c]`` along axis 0 (``C = 1`` or ``shape[0]``)."""
from __future__ import annotations

import numpy as np

from . import register
from .base import Shape, channel_affine, check_channel_params, require_keys

PARAMS = ("scale", "offset")


class AffineDecoder:
    """Per-tensor or per-output-channel scale and offset."""

    name = "affine"
    params = {"scale": "[1] or [shape[0]]", "offset": "[1] or [shape[0]]"}

    def check(self, shape: Shape, params: dict[str, Shape]) -> None:
        require_keys(self.name, params, PARAMS)
        check_channel_params(self.name, shape, params, PARAMS)

    def synthesize(self, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        x = np.asarray(latent).astype(np.float32)
        return channel_affine(x, params["scale"], params["offset"])


AFFINE = register(AffineDecoder())
