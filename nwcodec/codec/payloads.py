"""``TENS`` payloads: how each coding lays out one tensor's bytes, and how a decoder reads them.

Every payload starts with ``uvarint tensor_index``. Then, by coding:

* ``raw``: the little-endian element bytes (bfloat16 as its 16-bit pattern; bool as one byte).
* ``quant``: ``f32 steps[k]`` (k = shape[axis], or 1) then a segment list.
* ``bytes``: for each byte plane of the little-endian elements (least significant first), a
  segment list coded with that plane's table. Lossless.
* ``latent``: each decoder parameter as f32 (header order and shapes), then a segment list.

A segment list is ``uvarint n_segments`` followed by segments (see ``nwcodec.entropy.ans``)
whose symbol counts add up to the tensor's element count.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader, Writer
from ..entropy import FreqTable, decode_segment, encode_segment
from ..errors import LimitExceededError, MalformedError
from .header import ITEMSIZE

MAX_SEGMENTS = 1 << 16
MAX_SEGMENT_SYMBOLS = 1 << 20
RAW_WIRE = {"float32": "<f4", "float16": "<f2", "float64": "<f8", "bfloat16": "<u2", "int8": "<i1",
            "int16": "<i2", "int32": "<i4", "int64": "<i8", "uint8": "<u1", "bool": "<u1"}


def write_segments(w: Writer, values: np.ndarray, table: FreqTable, segment_size: int) -> None:
    """Append a segment list coding ``values`` (flattened) in runs of ``segment_size``."""
    if not 1 <= segment_size <= MAX_SEGMENT_SYMBOLS:
        raise ValueError(f"segment_size must be in 1..{MAX_SEGMENT_SYMBOLS}")
    v = np.asarray(values).ravel()
    n_seg = max(1, math.ceil(v.size / segment_size))
    w.uvarint(n_seg)
    for k in range(n_seg):
        w.bytes(encode_segment(v[k * segment_size:(k + 1) * segment_size], table))


def scan_segments(r: Reader, numel: int, what: str) -> list[tuple[int, int]]:
    """Walk a segment list without decoding: ``(byte offset in r's buffer, n_symbols)`` each.

    Leaves ``r`` after the list; checks the counts add up to ``numel``.
    """
    n_seg = r.uvarint()
    if n_seg < 1 or n_seg > MAX_SEGMENTS:
        raise MalformedError(f"{what}: {n_seg} segments (1..{MAX_SEGMENTS} allowed)")
    out, have = [], 0
    for _ in range(n_seg):
        start = r.position
        n, n_words, n_esc = r.uvarint(), r.uvarint(), r.uvarint()
        if n > min(numel - have, MAX_SEGMENT_SYMBOLS):
            raise LimitExceededError(f"{what}: segment declares {n} symbols (tensor left {numel - have}, "
                                     f"segment limit {MAX_SEGMENT_SYMBOLS})")
        r.bytes(4 * n_words)
        r.bytes(n_esc)
        out.append((start, n))
        have += n
    if have != numel:
        raise MalformedError(f"{what}: segments hold {have} values, the tensor has {numel}")
    return out


def read_segments(r: Reader, table: FreqTable, numel: int, what: str) -> np.ndarray:
    """Read a segment list and return exactly ``numel`` int32 values."""
    n_seg = r.uvarint()
    if n_seg < 1 or n_seg > MAX_SEGMENTS:
        raise MalformedError(f"{what}: {n_seg} segments (1..{MAX_SEGMENTS} allowed)")
    parts, have = [], 0
    for k in range(n_seg):
        part = decode_segment(r, table, min(numel - have, MAX_SEGMENT_SYMBOLS), f"{what} segment {k}")
        have += part.size
        parts.append(part)
    if have != numel:
        raise MalformedError(f"{what}: segments hold {have} values, the tensor has {numel}")
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def raw_bytes(arr: np.ndarray, dtype: str) -> bytes:
    """Little-endian element bytes; bfloat16 (held as float32) keeps its upper 16 bits."""
    if dtype == "bfloat16":
        return (arr.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    return np.ascontiguousarray(arr).astype(RAW_WIRE[dtype]).tobytes()


def from_raw(buf: np.ndarray, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`raw_bytes` for a wire array ``buf`` (bfloat16 decodes to float32)."""
    if dtype == "bfloat16":
        return (buf.astype("<u4") << 16).view("<f4").astype(np.float32).reshape(shape)
    if dtype == "bool":
        if buf.size and int(buf.max()) > 1:
            raise MalformedError("raw bool tensor holds a byte other than 0 or 1")
        return buf.astype(bool).reshape(shape)
    return buf.astype(np.dtype(RAW_WIRE[dtype]).newbyteorder("=")).reshape(shape)


def byte_planes(arr: np.ndarray, dtype: str) -> np.ndarray:
    """``[itemsize, numel]`` uint8 planes of the little-endian element bytes."""
    raw = np.frombuffer(raw_bytes(arr, dtype), dtype=np.uint8)
    return raw.reshape(-1, ITEMSIZE[dtype]).T


def from_byte_planes(planes: list[np.ndarray], dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Reassemble byte planes (int32 values 0..255) into the tensor."""
    for p in planes:
        if p.size and (int(p.min()) < 0 or int(p.max()) > 255):
            raise MalformedError("byte plane holds a value outside 0..255")
    stacked = np.stack([p.astype(np.uint8) for p in planes], axis=1)
    buf = np.frombuffer(stacked.tobytes(), dtype=RAW_WIRE[dtype])
    return from_raw(buf, dtype, shape)
