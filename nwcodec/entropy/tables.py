"""Integer frequency tables: the only probability model a decoder ever sees.

A table codes the integers ``lo .. lo+n-1`` plus one *escape* symbol (index ``n``) for every
other value. Frequencies are positive integers summing to ``TOTAL = 2**PRECISION``; they are
derived from stored integer *weights* by :func:`normalize_weights`, an integer-only procedure,
so encoder and every decoder build the identical table with no floating point involved.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PRECISION = 24          # constriction's default model precision for AnsCoder
TOTAL = 1 << PRECISION
MAX_ALPHABET = 1 << 16  # largest table (escape excluded) a decoder accepts


def normalize_weights(weights: np.ndarray) -> np.ndarray:
    """Turn non-negative integer weights (< 2**32 each) into frequencies >= 1 summing to TOTAL.

    ``f_i = 1 + floor(w_i * R / W)`` with ``R = TOTAL - n``; the remainder ``R - Σ floor(...)``
    goes to the first largest weight. All-zero weights give a uniform table.
    """
    w = np.asarray(weights, dtype=np.uint64)
    n = int(w.size)
    if n < 1 or n > MAX_ALPHABET + 1:
        raise ValueError(f"table size {n} out of range")
    if int(w.max()) >= 1 << 32:
        raise ValueError("table weights must be < 2**32")
    total_w = int(w.sum(dtype=np.uint64))
    spare = TOTAL - n
    if total_w == 0:
        f = np.full(n, spare // n, dtype=np.uint64)
    elif total_w < 1 << 32:
        f = (w * np.uint64(spare)) // np.uint64(total_w)   # w*spare < 2**56: exact in uint64
    else:
        f = np.array([(int(x) * spare) // total_w for x in w], dtype=np.uint64)
    f += np.uint64(1)
    f[int(np.argmax(w))] += np.uint64(TOTAL - int(f.sum(dtype=np.uint64)))
    return f.astype(np.int64)


@dataclass
class FreqTable:
    """Frequencies for values ``lo .. lo+n-1`` (indices 0..n-1) and the escape (index n)."""

    lo: int
    freqs: np.ndarray
    _model: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.freqs = np.asarray(self.freqs, dtype=np.int64)
        if self.freqs.ndim != 1 or self.freqs.size < 2:
            raise ValueError("a table needs at least one value and the escape")
        if int(self.freqs.min()) < 1 or int(self.freqs.sum()) != TOTAL:
            raise ValueError("frequencies must be >= 1 and sum to TOTAL")

    @property
    def n(self) -> int:
        """Number of directly coded values (escape excluded)."""
        return int(self.freqs.size) - 1

    @property
    def hi(self) -> int:
        """Largest directly coded value."""
        return self.lo + self.n - 1

    def model(self):
        """The constriction model; ``perfect=True`` reproduces these exact integer frequencies."""
        if self._model is None:
            import constriction

            self._model = constriction.stream.model.Categorical(
                self.freqs.astype(np.float64) / TOTAL, perfect=True
            )
        return self._model

    def bits_per_index(self) -> np.ndarray:
        """Information content in bits of each table index (escape last)."""
        return PRECISION - np.log2(self.freqs.astype(np.float64))
