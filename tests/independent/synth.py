"""Parameter decoders of the ``latent`` coding (FORMAT.md 6.7): float32 ufuncs in the spec's order."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .errors import MalformedError, UnsupportedFeatureError

F32 = np.float32


def dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II ``C[k, j] = s_k cos(pi (2j+1) k / 2n)`` rounded to float32 (FORMAT.md 6.7, "DCT-II tables")."""
    c = np.zeros((n, n), dtype=np.float32)
    for k in range(n):
        s = math.sqrt((1.0 if k == 0 else 2.0) / n)
        for j in range(n):
            m = (2 * j + 1) * k
            if m % n == 0 and (m // n) % 2 == 1:
                continue            # cos is exactly 0 here
            c[k, j] = np.float32(s * math.cos(math.pi * m / (2 * n)))
    return c


def _vec(params: dict, key: str, channels: int) -> np.ndarray:
    p = params[key]
    if p.shape not in ((1,), (channels,)):
        raise MalformedError(f"decoder param {key} has shape {p.shape}, want [1] or [{channels}]")
    return p


def _affine_tail(w: np.ndarray, params: dict) -> np.ndarray:
    c = w.shape[0]
    bshape = (-1,) + (1,) * (w.ndim - 1)
    scale = _vec(params, "scale", c).reshape(bshape)
    offset = _vec(params, "offset", c).reshape(bshape)
    return np.add(np.multiply(w, scale, dtype=F32), offset, dtype=F32)


def affine(x: np.ndarray, params: dict) -> np.ndarray:
    return _affine_tail(x, params)


def dct(x: np.ndarray, params: dict) -> np.ndarray:
    if x.ndim not in (3, 4):
        raise MalformedError(f"dct needs a [O, I, k] or [O, I, kh, kw] kernel, got {x.shape}")
    spatial = x.shape[2:]
    if not all(1 <= s <= 8 for s in spatial):
        raise MalformedError(f"dct spatial sizes must be 1..8, got {spatial}")
    step = params["step"]
    if step.shape != spatial:
        raise MalformedError(f"dct step has shape {step.shape}, want {spatial}")
    coef = np.multiply(x, step, dtype=F32)
    mats = [dct_matrix(s) for s in spatial]
    out = np.zeros(x.shape, dtype=F32)
    for freq in np.ndindex(*spatial):
        basis = mats[0][freq[0]]
        if len(spatial) == 2:
            basis = np.multiply(basis[:, None], mats[1][freq[1]][None, :], dtype=F32)
        term = np.multiply(coef[(slice(None), slice(None)) + freq][..., *([None] * len(spatial))], basis,
                           dtype=F32)
        out = np.add(out, term, dtype=F32)
    return _affine_tail(out, params)


def block_dct(x: np.ndarray, params: dict) -> np.ndarray:
    """Blockwise inverse DCT-II of 2-D planes (FORMAT.md 6.7 ``block_dct``), written block by block."""
    step = params["step"]
    if x.ndim < 2 or step.ndim != 2 or not all(1 <= b <= 8 for b in step.shape):
        raise MalformedError(f"block_dct needs a [..., H, W] latent and a [Bh, Bw] step, got {x.shape}, {step.shape}")
    bh, bw = step.shape
    h, w = x.shape[-2:]
    if h % bh or w % bw:
        raise MalformedError(f"block_dct blocks {step.shape} do not tile {x.shape[-2:]}")
    ch, cw = dct_matrix(bh), dct_matrix(bw)
    out = np.zeros(x.shape, dtype=F32)
    for by in range(0, h, bh):
        for bx in range(0, w, bw):
            block = np.multiply(x[..., by:by + bh, bx:bx + bw], step, dtype=F32)     # coef[..., u, v]
            acc = np.zeros(x.shape[:-2] + (bh, bw), dtype=F32)
            for u in range(bh):
                for v in range(bw):
                    b = np.multiply(ch[u][:, None], cw[v][None, :], dtype=F32)       # B[u, v, y, x]
                    acc = np.add(acc, np.multiply(block[..., u, v][..., None, None], b, dtype=F32), dtype=F32)
            out[..., by:by + bh, bx:bx + bw] = acc
    return _affine_tail(out, params)


DECODERS: dict[str, tuple[tuple[str, ...], Callable[[np.ndarray, dict], np.ndarray]]] = {
    "affine": (("scale", "offset"), affine),
    "dct": (("step", "scale", "offset"), dct),
    "block_dct": (("step", "scale", "offset"), block_dct),
}


def synthesize(name: str, latent: np.ndarray, params: dict) -> np.ndarray:
    """``latent`` (int) + float32 params -> float32 weights of the latent's shape."""
    if name not in DECODERS:
        raise UnsupportedFeatureError(f"parameter decoder {name!r} is not implemented by the independent decoder")
    keys, fn = DECODERS[name]
    if set(params) != set(keys):
        raise MalformedError(f"decoder {name} takes params {keys}, stream has {sorted(params)}")
    if latent.ndim < 1:
        raise MalformedError("a latent needs at least one dimension")
    for v in params.values():
        if not np.all(np.isfinite(v)):
            raise MalformedError(f"decoder {name}: non-finite parameter")
    x = latent.astype(F32)
    w = fn(x, params)
    if w.shape != latent.shape:
        raise MalformedError("decoder output has the wrong shape")
    return w
