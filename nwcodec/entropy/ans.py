"""Segments: independently decodable runs of integers coded with constriction's ANS coder.

Segment layout: ``uvarint n_symbols | uvarint n_words | uvarint n_escape_bytes |
u32 words[n_words] (little-endian) | escape bytes``. Values outside the table's range are coded
as the escape symbol, and their values follow in order as zigzag LEB128 varints.
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader, Writer
from ..errors import LimitExceededError, MalformedError
from .tables import FreqTable

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _zigzag_varints(values: np.ndarray) -> bytes:
    w = Writer()
    for v in values.tolist():
        w.svarint(int(v))
    return w.getvalue()


def encode_segment(values: np.ndarray, table: FreqTable) -> bytes:
    """Code int values (within int32) with ``table``; returns the segment bytes."""
    import constriction

    v = np.asarray(values, dtype=np.int64).ravel()
    if v.size and (int(v.min()) < INT32_MIN or int(v.max()) > INT32_MAX):
        raise ValueError("segment values must fit in int32")
    idx = v - table.lo
    escaped = (idx < 0) | (idx >= table.n)
    if v.size and table.freqs[0] == 1 and idx[-1] == 0:   # end rule (FORMAT.md 6.4.1): escape a final lo
        escaped[-1] = True
    idx[escaped] = table.n
    coder = constriction.stream.stack.AnsCoder()
    if v.size:
        coder.encode_reverse(idx.astype(np.int32), table.model())
    words = coder.get_compressed().astype("<u4")
    esc = _zigzag_varints(v[escaped]) if escaped.any() else b""
    w = Writer()
    w.uvarint(int(v.size))
    w.uvarint(int(words.size))
    w.uvarint(len(esc))
    w.bytes(words.tobytes())
    w.bytes(esc)
    return w.getvalue()


def decode_segment(r: Reader, table: FreqTable, max_symbols: int, what: str = "segment") -> np.ndarray:
    """Read one segment from ``r`` and decode it to an int32 array (at most ``max_symbols``)."""
    import constriction

    n = r.uvarint()
    n_words = r.uvarint()
    n_esc = r.uvarint()
    if n > max_symbols:
        raise LimitExceededError(f"{what}: segment declares {n} symbols, at most {max_symbols} allowed")
    words = np.frombuffer(r.bytes(4 * n_words), dtype="<u4") if n_words else np.zeros(0, np.uint32)
    esc_reader = Reader(r.bytes(n_esc), f"{what} escapes")
    if n == 0:
        if n_words or n_esc:
            raise MalformedError(f"{what}: empty segment carries data")
        return np.zeros(0, dtype=np.int32)
    if n_words and words[-1] == 0:
        raise MalformedError(f"{what}: coded data ends in a zero word")
    try:
        coder = constriction.stream.stack.AnsCoder(np.require(words, np.uint32, "C"))
        idx = coder.decode(table.model(), n)
        exhausted = coder.num_words() == 0  # state 0 and every word consumed
    except Exception as exc:  # constriction reports damage as plain exceptions
        raise MalformedError(f"{what}: coded data is corrupt ({exc})") from None
    if not exhausted:
        raise MalformedError(f"{what}: coded data does not end where the symbols do")
    if table.freqs[0] == 1 and idx[-1] == 0:  # end rule for f_0 = 1 (FORMAT.md 6.4.1)
        raise MalformedError(f"{what}: coded data ends on index 0 of a table with f_0 = 1")
    esc_pos = np.flatnonzero(idx == table.n) if table.n <= int(idx.max(initial=0)) else ()
    out = idx.astype(np.int32, copy=False)
    if table.lo:
        if table.lo < INT32_MIN or table.hi > INT32_MAX:
            raise MalformedError(f"{what}: table range leaves int32")
        out += np.int32(table.lo)
    if len(esc_pos):
        if len(esc_pos) > esc_reader.remaining():
            raise MalformedError(f"{what}: fewer escape values than escape symbols")
        vals = [esc_reader.svarint() for _ in range(len(esc_pos))]
        if min(vals) < INT32_MIN or max(vals) > INT32_MAX:
            raise MalformedError(f"{what}: escaped value outside int32")
        out[esc_pos] = vals
    esc_reader.done()
    return out


def ideal_bits(values: np.ndarray, table: FreqTable) -> float:
    """Information content of ``values`` under ``table`` (escape symbols only, not their varints)."""
    v = np.asarray(values, dtype=np.int64).ravel() - table.lo
    v[(v < 0) | (v >= table.n)] = table.n
    return float(table.bits_per_index()[v].sum())
