"""Conventional baselines, coded in the same run: float16 + zstd-19 and int8 (per tensor) + zstd-19."""
from __future__ import annotations

import io
import time

import numpy as np


def _zstd():
    import zstandard

    return zstandard.ZstdCompressor(level=19), zstandard.ZstdDecompressor()


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _unpack(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def fp16_zstd(arrays: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray], float, float]:
    """(bytes, decoded arrays, encode s, decode s) for float16 weights compressed with zstd-19."""
    c, d = _zstd()
    t = time.perf_counter()
    blob = c.compress(_pack({k: v.astype(np.float16) if v.dtype.kind == "f" else v for k, v in arrays.items()}))
    te = time.perf_counter() - t
    t = time.perf_counter()
    out = {k: v.astype(np.float32) if v.dtype == np.float16 else v for k, v in _unpack(d.decompress(blob)).items()}
    return len(blob), out, te, time.perf_counter() - t


def int8_zstd(arrays: dict[str, np.ndarray]) -> tuple[int, dict[str, np.ndarray], float, float]:
    """Symmetric per-tensor int8 for float tensors of ≥ 2 dims (others float32), then zstd-19."""
    c, d = _zstd()
    t = time.perf_counter()
    packed = {}
    for k, v in arrays.items():
        if v.dtype.kind == "f" and v.ndim >= 2:
            s = float(np.abs(v).max()) / 127 or 1.0
            packed[k + ".q"] = np.clip(np.rint(v / s), -127, 127).astype(np.int8)
            packed[k + ".s"] = np.array([s], np.float32)
        else:
            packed[k] = v
    blob = c.compress(_pack(packed))
    te = time.perf_counter() - t
    t = time.perf_counter()
    raw = _unpack(d.decompress(blob))
    out = {}
    for k in arrays:
        out[k] = raw[k + ".q"].astype(np.float32) * raw[k + ".s"][0] if k + ".q" in raw else raw[k]
    return len(blob), out, te, time.perf_counter() - t
