"""``"block_dct"``: smooth 2-D signals (feature planes ``[C, H, W]``) as quantized blockwise DCT-II coefficients.

The last two dims are tiled into ``Bh × Bw`` blocks (``step`` has shape ``[Bh, Bw]``, one step per
frequency; ``Bh``, ``Bw`` in 1..8 divide ``H``, ``W``). The latent holds each block's coefficients in
place: element ``(..., i*Bh + u, j*Bw + v)`` is frequency ``(u, v)`` of block ``(i, j)``.
``coef = float32(latent) * step[u, v]``, then the orthonormal inverse DCT-II of every block,
accumulated term by term in row-major ``(u, v)`` order from +0 with the tabulated basis of
:mod:`nwcodec.decoders.dct_table`, then ``* scale[c] + offset[c]`` along axis 0 as for ``"affine"``.
"""
from __future__ import annotations

import numpy as np

from ..errors import MalformedError
from . import register
from .base import Shape, channel_affine, check_channel_params, require_keys
from .dct import dct_basis
from .dct_table import DCT_II_BITS

PARAMS = ("step", "scale", "offset")


def blocks_view(x: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """``[..., H, W]`` as ``[..., H/bh, bh, W/bw, bw]`` (a view, C order kept)."""
    *lead, h, w = x.shape
    return x.reshape(*lead, h // bh, bh, w // bw, bw)


def inverse_block_dct(coef: np.ndarray, bh: int, bw: int) -> np.ndarray:
    """Blockwise orthonormal inverse DCT-II of ``coef`` ``[..., H, W]``; float32, fixed (u, v) order."""
    basis = dct_basis((bh, bw))                     # B[u, v, y, x], each product rounded to float32
    c = blocks_view(coef, bh, bw)
    out = np.zeros(c.shape, dtype=np.float32)       # [..., nH, y, nW, x], +0 everywhere
    for u in range(bh):
        for v in range(bw):
            term = np.multiply(c[..., :, u:u + 1, :, v:v + 1], basis[u, v].reshape(bh, 1, bw), dtype=np.float32)
            np.add(out, term, out=out, dtype=np.float32)
    return out.reshape(coef.shape)


class BlockDctDecoder:
    """Quantized blockwise DCT-II coefficients of 2-D planes (blocks of 1..8 × 1..8)."""

    name = "block_dct"
    params = {"step": "[Bh, Bw], Bh | shape[-2], Bw | shape[-1], each in 1..8",
              "scale": "[1] or [shape[0]]", "offset": "[1] or [shape[0]]"}

    def check(self, shape: Shape, params: dict[str, Shape]) -> None:
        require_keys(self.name, params, PARAMS)
        if len(shape) < 2:
            raise MalformedError(f"block_dct decoder needs a latent with at least 2 dims, got {list(shape)}")
        step = tuple(params["step"])
        if len(step) != 2 or any(b not in DCT_II_BITS for b in step):
            raise MalformedError(f"block_dct param 'step' has shape {list(step)}, needs [Bh, Bw] with sizes 1..8")
        if shape[-2] % step[0] or shape[-1] % step[1]:
            raise MalformedError(f"block_dct blocks {list(step)} do not tile the plane {list(shape[-2:])}")
        check_channel_params(self.name, shape, params, ("scale", "offset"))

    def synthesize(self, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        x = np.asarray(latent).astype(np.float32)
        step = np.asarray(params["step"], np.float32)
        bh, bw = step.shape
        coef = np.multiply(blocks_view(x, bh, bw), step.reshape(bh, 1, bw), dtype=np.float32).reshape(x.shape)
        return channel_affine(inverse_block_dct(coef, bh, bw), params["scale"], params["offset"])


BLOCK_DCT = register(BlockDctDecoder())
