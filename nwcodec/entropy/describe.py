"""Compact binary descriptions of tables, as stored in ``TABL`` chunks.

Every description yields integer weights; :func:`~nwcodec.entropy.tables.normalize_weights`
turns them into the table. Kinds:

* ``0`` histogram: ``n`` weights as unsigned LEB128 varints.
* ``1`` log-histogram: ``n`` one-byte codes ``c``; weight ``0`` if ``c == 0`` else
  ``LOG_MANTISSA[(c-1) % 8] << ((c-1) // 8)`` (≈ 2**((c-1)/8) * 256, integers only).
* ``2`` discrete Laplace (two-sided geometric): centre ``m`` and ratio ``r = ratio_q16 / 65536``;
  weight of value ``v`` is ``g(|v - m|)`` with ``g(0) = 2**30``, ``g(k+1) = (g(k) * ratio_q16) >> 16``.

Layout (after the chunk framing): ``u8 kind | svarint lo | uvarint n | uvarint escape_weight |
body``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bitstream.binary import Reader, Writer
from ..bitstream.limits import DEFAULT_LIMITS, Limits
from ..errors import LimitExceededError, MalformedError, TruncatedError
from .tables import MAX_ALPHABET, FreqTable, normalize_weights

HISTOGRAM, LOG_HISTOGRAM, LAPLACE = 0, 1, 2
LOG_MANTISSA = np.array([256, 279, 304, 332, 362, 395, 431, 470], dtype=np.uint64)  # round(256*2**(j/8))
MAX_LOG_CODE = 8 * 24  # keeps every weight below 2**32
LAPLACE_PEAK = 1 << 30
SMALL_TABLE = 64  # histograms up to this size are read varint by varint


@dataclass(frozen=True)
class TableDescription:
    """Stored form of a table: ``kind`` plus the integers that define its weights."""

    kind: int
    lo: int
    n: int
    escape_weight: int
    body: tuple[int, ...]  # histogram weights | log codes | (centre, ratio_q16)

    def weights(self) -> np.ndarray:
        """Integer weights of the ``n`` values followed by the escape weight."""
        if self.kind == HISTOGRAM:
            w = np.array(self.body, dtype=np.uint64)
        elif self.kind == LOG_HISTOGRAM:
            c = np.array(self.body, dtype=np.int64)
            w = np.zeros(self.n, dtype=np.uint64)
            nz = c > 0
            k = c[nz] - 1
            w[nz] = LOG_MANTISSA[k % 8] << (k // 8).astype(np.uint64)
        elif self.kind == LAPLACE:
            centre, ratio = self.body
            dist = np.abs(np.arange(self.lo, self.lo + self.n, dtype=np.int64) - centre)
            g = _geometric(int(min(int(dist.max()), 64)) + 1, ratio)
            w = g[np.minimum(dist, g.size - 1)]
        else:
            raise MalformedError(f"unknown table kind {self.kind}")
        return np.append(w, np.uint64(self.escape_weight))

    def table(self) -> FreqTable:
        """The frequency table this description defines."""
        return FreqTable(self.lo, normalize_weights(self.weights()))


def _geometric(count: int, ratio_q16: int) -> np.ndarray:
    """``g(0) = 2**30, g(k+1) = (g(k) * ratio) >> 16`` for k < count (zero once it underflows)."""
    g = np.zeros(count, dtype=np.uint64)
    v = LAPLACE_PEAK
    for k in range(count):
        g[k] = v
        v = (v * ratio_q16) >> 16
        if v == 0:
            break
    return g


def write_description(d: TableDescription) -> bytes:
    """Serialize a description (the payload of a ``TABL`` chunk)."""
    w = Writer()
    w.u8(d.kind)
    w.svarint(d.lo)
    w.uvarint(d.n)
    w.uvarint(d.escape_weight)
    if d.kind == HISTOGRAM:
        for x in d.body:
            w.uvarint(int(x))
    elif d.kind == LOG_HISTOGRAM:
        w.bytes(bytes(int(x) for x in d.body))
    else:
        w.svarint(int(d.body[0]))
        w.u16(int(d.body[1]))
    return w.getvalue()


def _weight_varints(r: Reader, n: int) -> tuple[int, ...]:
    """``n`` uvarint weights, each ``< 2**32`` (so at most 5 bytes); long bodies without a Python loop."""
    if n <= SMALL_TABLE:
        body = tuple(r.uvarint() for _ in range(min(n, r.remaining())))
        if len(body) != n:
            raise MalformedError("TABL: histogram shorter than its alphabet")
        if max(body) >= 1 << 32:
            raise MalformedError("TABL: histogram weight >= 2**32")
        return body
    buf = np.frombuffer(r.bytes(min(r.remaining(), 5 * n)), dtype=np.uint8)
    ends = np.flatnonzero(buf < 0x80)[:n]
    if ends.size < n:
        if buf.size and buf[-1] >= 0x80 and buf.size < 5 * n:
            raise TruncatedError("TABL: data ends inside a histogram weight")
        raise MalformedError("TABL: histogram shorter than its alphabet")
    starts = np.concatenate(([0], ends[:-1] + 1))
    length = ends - starts + 1
    if int(length.max()) > 5:
        raise MalformedError("TABL: histogram weight >= 2**32")
    if np.any((length > 1) & (buf[ends] == 0)):
        raise MalformedError("TABL: overlong varint in a histogram")
    value = np.zeros(n, dtype=np.uint64)
    for k in range(5):
        has = length > k
        value[has] |= (buf[starts[has] + k].astype(np.uint64) & np.uint64(0x7F)) << np.uint64(7 * k)
    if int(value.max()) >= 1 << 32:
        raise MalformedError("TABL: histogram weight >= 2**32")
    r.rewind(buf.size - int(ends[-1]) - 1)
    return tuple(value.tolist())


def read_description(data: bytes | memoryview, limits: Limits = DEFAULT_LIMITS) -> TableDescription:
    """Parse and validate a ``TABL`` payload; raises a :class:`BitstreamError` subclass."""
    r = Reader(data, "TABL")
    kind = r.u8()
    lo = r.svarint()
    n = r.uvarint()
    esc = r.uvarint()
    cap = min(MAX_ALPHABET, limits.max_table_alphabet)
    if n < 1 or n > cap:
        raise LimitExceededError(f"TABL: alphabet size {n} outside 1..{cap} (max_table_alphabet)")
    if abs(lo) > 1 << 40 or esc >= 1 << 32:
        raise MalformedError("TABL: value range or escape weight out of bounds")
    if kind == HISTOGRAM:
        body = _weight_varints(r, n)
    elif kind == LOG_HISTOGRAM:
        body = tuple(r.bytes(n))
        if max(body) > MAX_LOG_CODE:
            raise MalformedError("TABL: log-histogram code out of range")
    elif kind == LAPLACE:
        body = (r.svarint(), r.u16())
        if abs(body[0]) > 1 << 40:
            raise MalformedError("TABL: Laplace centre out of bounds")
    else:
        raise MalformedError(f"TABL: unknown table kind {kind}")
    r.done()
    return TableDescription(kind, lo, n, esc, body)


def describe_table(kind: int, lo: int, weights: np.ndarray, escape_weight: int) -> TableDescription:
    """Build a histogram or log-histogram description from integer weights / log codes."""
    return TableDescription(kind, int(lo), int(len(weights)), int(escape_weight),
                            tuple(int(x) for x in weights))
