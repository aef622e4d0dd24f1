"""Parameter decoders: integer latent + float32 decoder params -> float32 weight (numpy only).

This is the receiver's half of EPR and must stay torch-free. Every decoder uses elementwise
float32 numpy ufuncs in a fixed order (no BLAS, no reductions whose order numpy may change), so
the result is bit-identical across machines and thread counts.

Decoders
--------
``"affine"``  ``w = float32(latent) * scale + offset``; ``scale``/``offset`` are float32 ``[C]``,
              broadcast along axis 0 (C == 1: per tensor, C == shape[0]: per output channel).
``"dct"``     conv kernels ``[O, I, kh, kw]`` or ``[O, I, k]``: ``coef = float32(latent) * step``
              (``step`` float32 of the spatial shape), then an orthonormal inverse DCT-II over the
              spatial dims, accumulated term by term in row-major frequency order with the
              tabulated basis of :mod:`nwcodec.reparam.dct_table`, then ``* scale + offset``.
"""
from __future__ import annotations

import numpy as np

from nwcodec.errors import InputError
from nwcodec.reparam.dct_table import DCT_II_BITS

DECODERS = ("affine", "dct")


def dct_matrix(n: int) -> np.ndarray:
    """The tabulated orthonormal DCT-II matrix ``C[k, j]`` of length ``n`` (float32)."""
    if n not in DCT_II_BITS:
        raise InputError(f"dct decoder supports spatial sizes 1..8, got {n}")
    return np.array(DCT_II_BITS[n], dtype=np.uint32).view(np.float32).reshape(n, n)


def dct_basis(spatial: tuple[int, ...]) -> np.ndarray:
    """Separable inverse-DCT basis ``B[freq..., pos...]`` (float32), products taken in float32."""
    if len(spatial) == 1:
        return dct_matrix(spatial[0])
    if len(spatial) == 2:
        cu, cv = dct_matrix(spatial[0]), dct_matrix(spatial[1])
        return np.multiply(cu[:, None, :, None], cv[None, :, None, :], dtype=np.float32)
    raise InputError(f"dct decoder needs 1 or 2 spatial dims, got shape {spatial}")


def _param(params: dict[str, np.ndarray], key: str, decoder: str) -> np.ndarray:
    if key not in params:
        raise InputError(f"decoder {decoder!r} needs param {key!r}")
    return np.ascontiguousarray(params[key], dtype=np.float32)


def _channel_affine(x: np.ndarray, params: dict[str, np.ndarray], decoder: str) -> np.ndarray:
    scale, offset = _param(params, "scale", decoder), _param(params, "offset", decoder)
    for key, p in (("scale", scale), ("offset", offset)):
        if p.ndim != 1 or p.shape[0] not in (1, x.shape[0]):
            raise InputError(f"{decoder} param {key!r} shape {p.shape} does not fit {x.shape}")
    bshape = (-1,) + (1,) * (x.ndim - 1)
    out = np.multiply(x, scale.reshape(bshape), dtype=np.float32)
    return np.add(out, offset.reshape(bshape), dtype=np.float32)


def _inverse_dct(coef: np.ndarray) -> np.ndarray:
    """Orthonormal inverse DCT-II over the trailing spatial dims, elementwise and in fixed order."""
    spatial = coef.shape[2:]
    basis = dct_basis(spatial)
    out = np.zeros(coef.shape, dtype=np.float32)
    lead = (slice(None), slice(None))
    for freq in np.ndindex(*spatial):
        term = np.multiply(coef[lead + freq][(...,) + (None,) * len(spatial)], basis[freq],
                           dtype=np.float32)
        out = np.add(out, term, dtype=np.float32)
    return out


def synthesize(decoder: str, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Decode one weight tensor from its integer ``latent`` (see module docstring)."""
    x = np.asarray(latent).astype(np.float32)
    if x.ndim == 0:
        raise InputError("latent must have at least one dimension")
    if decoder == "affine":
        return _channel_affine(x, params, decoder)
    if decoder == "dct":
        if x.ndim not in (3, 4):
            raise InputError(f"dct decoder needs a [O, I, k] or [O, I, kh, kw] latent, got {x.shape}")
        step = _param(params, "step", decoder)
        if step.shape != x.shape[2:]:
            raise InputError(f"dct param 'step' shape {step.shape} != spatial shape {x.shape[2:]}")
        coef = np.multiply(x, step, dtype=np.float32)
        return _channel_affine(_inverse_dct(coef), params, decoder)
    raise InputError(f"unknown decoder {decoder!r} (known: {', '.join(DECODERS)})")
