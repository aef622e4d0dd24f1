"""``TABL`` payloads -> integer weights -> 24-bit frequencies (FORMAT.md 6.3)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import rans
from .errors import LimitExceededError, MalformedError
from .reader import Reader

PRECISION = 24
TOTAL = 1 << PRECISION
MAX_N = 1 << 16
LOG_MANTISSA = (256, 279, 304, 332, 362, 395, 431, 470)


@dataclass
class Table:
    """Codes ``lo … lo+n-1`` as indices ``0 … n-1``; index ``n`` is the escape."""

    kind: int
    lo: int
    n: int
    freqs: list[int]       # N = n + 1 frequencies summing to 2^24, escape last
    cum: list[int]         # left cumulative frequency of each index, in index order
    _buckets: list[int] | None = None

    def buckets(self) -> list[int]:
        """The rANS lookup buckets of this table (built once)."""
        if self._buckets is None:
            self._buckets = rans.buckets(self.cum)
        return self._buckets


def _laplace(lo: int, n: int, centre: int, ratio: int) -> list[int]:
    g = [1 << 30]
    for _ in range(64):
        g.append((g[-1] * ratio) >> 16)
    return [g[min(abs(lo + i - centre), 64)] for i in range(n)]


def normalize(weights: list[int]) -> list[int]:
    """Integer weights (escape last) -> frequencies, each >= 1, summing to exactly 2^24."""
    big_n = len(weights)
    rest = TOTAL - big_n
    total = sum(weights)
    if total == 0:
        f = [1 + rest // big_n] * big_n
    else:
        f = [1 + (w * rest) // total for w in weights]
    k = weights.index(max(weights))
    f[k] += TOTAL - sum(f)
    return f


def parse_table(data: bytes, what: str) -> Table:
    r = Reader(data, what)
    kind = r.uint(1)
    lo = r.svarint()
    n = r.uvarint()
    esc = r.uvarint()
    if not 1 <= n <= MAX_N:
        raise LimitExceededError(f"{what}: alphabet size {n} outside 1..2^16")
    if abs(lo) > 1 << 40:
        raise MalformedError(f"{what}: lo beyond 2^40")
    if esc >= 1 << 32:
        raise MalformedError(f"{what}: escape weight >= 2^32")
    if kind == 0:
        w = []
        for _ in range(n):
            if not r.left():
                raise MalformedError(f"{what}: histogram shorter than its alphabet")
            start = r.pos
            w.append(r.uvarint())
            if r.pos - start > 5 or w[-1] >= 1 << 32:
                raise MalformedError(f"{what}: histogram weight >= 2^32")
    elif kind == 1:
        codes = r.take(n)
        if any(c > 192 for c in codes):
            raise MalformedError(f"{what}: log code above 192")
        w = [0 if c == 0 else LOG_MANTISSA[(c - 1) % 8] << ((c - 1) // 8) for c in codes]
    elif kind == 2:
        centre = r.svarint()
        if abs(centre) > 1 << 40:
            raise MalformedError(f"{what}: Laplace centre beyond 2^40")
        ratio = r.uint(2)
        w = _laplace(lo, n, centre, ratio)
    else:
        raise MalformedError(f"{what}: unknown table kind {kind}")
    r.done()
    freqs = normalize(w + [esc])
    cum = np.concatenate([[0], np.cumsum(freqs[:-1], dtype=np.int64)]).tolist()
    return Table(kind, lo, n, freqs, cum)
