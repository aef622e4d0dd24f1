"""Segments and segment lists (FORMAT.md 6.4): rANS indices + escape varints -> int32 values."""
from __future__ import annotations

import numpy as np

from . import rans
from .errors import LimitExceededError, MalformedError
from .reader import Reader
from .tables import Table

MAX_SEGMENT_SYMBOLS = 1 << 20
MAX_SEGMENTS = 1 << 16
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def read_segment(r: Reader, table: Table, max_symbols: int) -> np.ndarray:
    """One segment -> int64 array of its values (all within int32)."""
    n = r.uvarint()
    n_words = r.uvarint()
    n_esc = r.uvarint()
    if n > max_symbols or n > MAX_SEGMENT_SYMBOLS:
        raise LimitExceededError(f"{r.what}: segment of {n} symbols, at most {min(max_symbols, MAX_SEGMENT_SYMBOLS)}")
    words = r.array("<u4", n_words)
    esc = Reader(r.take(n_esc), r.what + " escapes")
    if n == 0:
        if n_words or n_esc:
            raise MalformedError(f"{r.what}: empty segment carries data")
        return np.zeros(0, dtype=np.int64)
    if n_words and words[-1] == 0:
        raise MalformedError(f"{r.what}: last word is zero")
    idx, state, left = rans.decode(words, n, table.freqs, table.cum, table.buckets())
    if state != 0 or left != 0:
        raise MalformedError(f"{r.what}: coder not empty after the last symbol (end rule)")
    if table.freqs[0] == 1 and idx[-1] == 0:
        raise MalformedError(f"{r.what}: last index 0 under a table with f_0 = 1 (end rule)")
    if table.lo < INT32_MIN or table.lo + table.n - 1 > INT32_MAX:
        raise MalformedError(f"{r.what}: table range leaves int32")
    escaped = np.flatnonzero(idx == table.n)
    out = idx + table.lo
    if escaped.size:
        if escaped.size > esc.left():
            raise MalformedError(f"{r.what}: fewer escape values than escape symbols")
        vals = [esc.svarint() for _ in range(escaped.size)]
        if min(vals) < INT32_MIN or max(vals) > INT32_MAX:
            raise MalformedError(f"{r.what}: escaped value outside int32")
        out[escaped] = vals
    esc.done()
    return out


def read_segment_list(r: Reader, table: Table, numel: int) -> np.ndarray:
    """A segment list of ``numel`` values (C order) under one table."""
    n_seg = r.uvarint()
    if not 1 <= n_seg <= MAX_SEGMENTS:
        raise MalformedError(f"{r.what}: {n_seg} segments, must be 1..2^16")
    parts, have = [], 0
    for _ in range(n_seg):
        seg = read_segment(r, table, numel - have)
        have += seg.size
        parts.append(seg)
    if have != numel:
        raise MalformedError(f"{r.what}: segments hold {have} values, tensor has {numel}")
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)
