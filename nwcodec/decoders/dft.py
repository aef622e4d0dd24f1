"""``"dft"``: conv kernels ``[O, I, kh, kw]`` / ``[O, I, k]`` coded as quantized real DFT coefficients.

The reference EPR implementation (tensorflow/model-optimization ``epr.py``) reparameterizes conv
kernels by their ``rfft2d``; this decoder uses the same coefficients, without the redundant
(Hermitian) ones, packed into the kernel's own ``[kh, kw]`` grid and scaled to an orthonormal
basis. Cell ``(u, v)``: for ``0 < v < kw/2`` the real part of ``F[u, v]``; for ``v > kw/2`` the
imaginary part of ``F[u, kw - v]``; in the self-conjugate columns ``v = 0`` and ``v = kw/2`` the
real part of ``F[u, v]`` for ``u <= kh/2`` and the imaginary part of ``F[kh - u, v]`` for
``u > kh/2``. ``coef = float32(latent) * step`` (one step per cell), then
``w = sum_cells coef * B[cell]`` accumulated term by term in row-major cell order, then
``* scale[o] + offset[o]``. ``B`` is built from the tabulated float32 cos/sin matrices of
:mod:`nwcodec.decoders.dft_table` with fixed float32 operations (FORMAT.md 6.7).
"""
from __future__ import annotations

import numpy as np

from ..errors import MalformedError
from . import register
from .base import Shape, channel_affine, check_channel_params, require_keys
from .dct import inverse_dct
from .dft_table import DFT_COS_BITS, DFT_SIN_BITS

PARAMS = ("step", "scale", "offset")


def _table(bits: dict[int, tuple[int, ...]], n: int) -> np.ndarray:
    if n not in bits:
        raise MalformedError(f"dft decoder supports spatial sizes 1..8, got {n}")
    return np.array(bits[n], dtype=np.uint32).view(np.float32).reshape(n, n)


def _norm(self_conjugate: bool, size: int) -> np.float32:
    """``1/sqrt(N)`` for self-conjugate frequencies, ``sqrt(2/N)`` otherwise (float32, correctly rounded)."""
    num = np.float32(1.0) if self_conjugate else np.float32(2.0)
    return np.sqrt(np.divide(num, np.float32(size), dtype=np.float32), dtype=np.float32)


def _cell(u: int, v: int, kh: int, kw: int) -> tuple[int, int, bool, bool]:
    """The frequency ``(fu, fv)`` cell ``(u, v)`` holds, whether it is the imaginary part, and
    whether that frequency is self-conjugate."""
    if 0 < v and 2 * v < kw:
        return u, v, False, False
    if 2 * v > kw:
        return (kh - u) % kh, kw - v, True, False
    if u == 0 or 2 * u == kh:
        return u, v, False, True
    if 2 * u < kh:
        return u, v, False, False
    return kh - u, v, True, False


def dft_basis(spatial: tuple[int, ...]) -> np.ndarray:
    """Real orthonormal DFT basis ``B[cell..., pos...]`` (float32), fixed float32 operations."""
    if len(spatial) == 1:
        spatial2 = (1, spatial[0])
    elif len(spatial) == 2:
        spatial2 = tuple(spatial)
    else:
        raise MalformedError(f"dft decoder needs 1 or 2 spatial dims, got shape {spatial}")
    kh, kw = spatial2
    ch, sh, cw, sw = _table(DFT_COS_BITS, kh), _table(DFT_SIN_BITS, kh), _table(DFT_COS_BITS, kw), _table(DFT_SIN_BITS, kw)
    basis = np.zeros((kh, kw, kh, kw), dtype=np.float32)
    for u in range(kh):
        for v in range(kw):
            fu, fv, imag, selfc = _cell(u, v, kh, kw)
            cu, su, cv, sv = ch[fu][:, None], sh[fu][:, None], cw[fv][None, :], sw[fv][None, :]
            if imag:   # -sin(a + b) = -(sin a cos b + cos a sin b)
                d = np.negative(np.add(np.multiply(su, cv, dtype=np.float32), np.multiply(cu, sv, dtype=np.float32),
                                       dtype=np.float32))
            else:      # cos(a + b) = cos a cos b - sin a sin b
                d = np.subtract(np.multiply(cu, cv, dtype=np.float32), np.multiply(su, sv, dtype=np.float32),
                                dtype=np.float32)
            basis[u, v] = np.multiply(d, _norm(selfc, kh * kw), dtype=np.float32)
    return basis[0, :, 0, :] if len(spatial) == 1 else basis


class DftDecoder:
    """Quantized real (rfft) DFT coefficients of conv kernels (spatial sizes 1..8)."""

    name = "dft"
    params = {"step": "the spatial shape shape[2:]", "scale": "[1] or [shape[0]]", "offset": "[1] or [shape[0]]"}

    def check(self, shape: Shape, params: dict[str, Shape]) -> None:
        require_keys(self.name, params, PARAMS)
        if len(shape) not in (3, 4) or any(s not in DFT_COS_BITS for s in shape[2:]):
            raise MalformedError(f"dft decoder needs a [O, I, k] or [O, I, kh, kw] latent with spatial sizes "
                                 f"1..8, got {list(shape)}")
        if tuple(params["step"]) != tuple(shape[2:]):
            raise MalformedError(f"dft param 'step' has shape {list(params['step'])}, needs {list(shape[2:])}")
        check_channel_params(self.name, shape, params, ("scale", "offset"))

    def synthesize(self, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        x = np.asarray(latent).astype(np.float32)
        coef = np.multiply(x, np.asarray(params["step"], np.float32), dtype=np.float32)
        return channel_affine(inverse_dct(coef, dft_basis(tuple(x.shape[2:]))), params["scale"], params["offset"])


DFT = register(DftDecoder())
