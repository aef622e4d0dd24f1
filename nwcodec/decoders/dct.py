"""``"dct"``: conv kernels ``[O, I, kh, kw]`` / ``[O, I, k]`` coded as quantized DCT-II coefficients.

``coef = float32(latent) * step`` (``step`` float32 of the spatial shape, one step per frequency),
then the orthonormal inverse DCT-II over the spatial dims, accumulated term by term in row-major
frequency order with the tabulated basis of :mod:`nwcodec.decoders.dct_table`, then
``* scale[o] + offset[o]`` as for ``"affine"``.
"""
from __future__ import annotations

import numpy as np

from ..errors import MalformedError
from . import register
from .base import Shape, channel_affine, check_channel_params, require_keys
from .dct_table import DCT_II_BITS

PARAMS = ("step", "scale", "offset")


def dct_matrix(n: int) -> np.ndarray:
    """The tabulated orthonormal DCT-II matrix ``C[k, j]`` of length ``n`` (float32)."""
    if n not in DCT_II_BITS:
        raise MalformedError(f"dct decoder supports spatial sizes 1..8, got {n}")
    return np.array(DCT_II_BITS[n], dtype=np.uint32).view(np.float32).reshape(n, n)


def dct_basis(spatial: tuple[int, ...]) -> np.ndarray:
    """Separable inverse-DCT basis ``B[freq..., pos...]`` (float32), products taken in float32."""
    if len(spatial) == 1:
        return dct_matrix(spatial[0])
    if len(spatial) == 2:
        cu, cv = dct_matrix(spatial[0]), dct_matrix(spatial[1])
        return np.multiply(cu[:, None, :, None], cv[None, :, None, :], dtype=np.float32)
    raise MalformedError(f"dct decoder needs 1 or 2 spatial dims, got shape {spatial}")


def inverse_dct(coef: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """Orthonormal inverse DCT-II (or the transform of ``basis[freq..., pos...]``) over the trailing
    spatial dims, elementwise and in fixed order."""
    spatial = coef.shape[2:]
    basis = dct_basis(spatial) if basis is None else basis
    out = np.zeros(coef.shape, dtype=np.float32)
    lead = (slice(None), slice(None))
    for freq in np.ndindex(*spatial):
        term = np.multiply(coef[lead + freq][(...,) + (None,) * len(spatial)], basis[freq], dtype=np.float32)
        np.add(out, term, out=out, dtype=np.float32)
    return out


class DctDecoder:
    """Quantized orthonormal DCT-II coefficients of conv kernels (spatial sizes 1..8)."""

    name = "dct"
    params = {"step": "the spatial shape shape[2:]", "scale": "[1] or [shape[0]]", "offset": "[1] or [shape[0]]"}

    def check(self, shape: Shape, params: dict[str, Shape]) -> None:
        require_keys(self.name, params, PARAMS)
        if len(shape) not in (3, 4) or any(s not in DCT_II_BITS for s in shape[2:]):
            raise MalformedError(f"dct decoder needs a [O, I, k] or [O, I, kh, kw] latent with spatial sizes "
                                 f"1..8, got {list(shape)}")
        if tuple(params["step"]) != tuple(shape[2:]):
            raise MalformedError(f"dct param 'step' has shape {list(params['step'])}, needs {list(shape[2:])}")
        check_channel_params(self.name, shape, params, ("scale", "offset"))

    def synthesize(self, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        x = np.asarray(latent).astype(np.float32)
        coef = np.multiply(x, np.asarray(params["step"], np.float32), dtype=np.float32)
        return channel_affine(inverse_dct(coef), params["scale"], params["offset"])


DCT = register(DctDecoder())
