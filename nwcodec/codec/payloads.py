"""Writer side of ``TENS`` payloads: segment lists, raw element bytes and byte planes.

The layouts and their readers live in :mod:`nwcodec.codings` (one module per coding).
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Writer
from ..codings.base import MAX_SEGMENT_SYMBOLS, MAX_SEGMENTS
from ..codings.dtypes import ITEMSIZE, RAW_WIRE
from ..entropy import FreqTable, encode_segment

__all__ = ["MAX_SEGMENTS", "MAX_SEGMENT_SYMBOLS", "RAW_WIRE", "write_segments", "raw_bytes", "byte_planes"]


def write_segments(w: Writer, values: np.ndarray, table: FreqTable, segment_size: int) -> None:
    """Append a segment list coding ``values`` (flattened) in runs of ``segment_size``."""
    if not 1 <= segment_size <= MAX_SEGMENT_SYMBOLS:
        raise ValueError(f"segment_size must be in 1..{MAX_SEGMENT_SYMBOLS}")
    v = np.asarray(values).ravel()
    n_seg = max(1, math.ceil(v.size / segment_size))
    if n_seg > MAX_SEGMENTS:
        raise ValueError(f"{v.size} values need {n_seg} segments of {segment_size}, more than {MAX_SEGMENTS}")
    w.uvarint(n_seg)
    for k in range(n_seg):
        w.bytes(encode_segment(v[k * segment_size:(k + 1) * segment_size], table))


def raw_bytes(arr: np.ndarray, dtype: str) -> bytes:
    """Little-endian element bytes; bfloat16 (held as float32) keeps its upper 16 bits."""
    if dtype == "bfloat16":
        return (arr.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    return np.ascontiguousarray(arr).astype(RAW_WIRE[dtype]).tobytes()


def byte_planes(arr: np.ndarray, dtype: str) -> np.ndarray:
    """``[itemsize, numel]`` uint8 planes of the little-endian element bytes."""
    raw = np.frombuffer(raw_bytes(arr, dtype), dtype=np.uint8)
    return raw.reshape(-1, ITEMSIZE[dtype]).T
