"""constriction's ``AnsCoder`` decoder (rANS: 32-bit words, 64-bit state, 24-bit precision), FORMAT.md 6.4.1.

Words are popped from the **end** of the word array: the last one or two words form the initial state
(most significant word last), the rest refill the state from the back towards index 0.
"""
from __future__ import annotations

from bisect import bisect_right
from itertools import repeat

import numpy as np

PRECISION = 24
QMASK = (1 << PRECISION) - 1
WORD_BITS = 32
LOW = 1 << (64 - WORD_BITS)     # the state invariant: state >= 2^32 while words remain
BUCKET_BITS = 12                # symbol lookup: 4096 buckets of the 24-bit quantile, then bisection
assert (QMASK, PRECISION - BUCKET_BITS, LOW) == (0xFFFFFF, 12, 0x100000000)   # decode() spells these out


def initial_state(words: list[int]) -> tuple[int, int]:
    """``(state, words_left)`` after reading the initial state from the end of ``words`` (last word != 0)."""
    pos = len(words)
    if pos == 0:
        return 0, 0
    state = words[pos - 1]
    pos -= 1
    while pos and state < LOW:
        pos -= 1
        state = (state << WORD_BITS) | words[pos]
    return state, pos


def buckets(cum: list[int]) -> list[int]:
    """Symbol lookup aid: for each of the 4096 buckets ``q >> 12`` of the quantile, the index whose range
    covers the whole bucket, or ``~first`` (negative) where several indices meet it, ``first`` the lowest."""
    c = np.asarray(cum, dtype=np.int64)
    edges = np.arange(1 << BUCKET_BITS, dtype=np.int64) << (PRECISION - BUCKET_BITS)
    first = np.searchsorted(c, edges, "right") - 1
    last = np.searchsorted(c, edges + (1 << (PRECISION - BUCKET_BITS)) - 1, "right") - 1
    return np.where(first == last, first, ~first).tolist()


def decode(words: np.ndarray, n: int, freqs: list[int], cum: list[int],
           bucket: list[int] | None = None) -> tuple[np.ndarray, int, int]:
    """Decode ``n`` indices; returns ``(indices, final state, words left)``.

    Symbol lookup: the index ``s`` with ``cum[s] <= q < cum[s] + freqs[s]`` (cumulative table in index
    order). The empty coder (state 0, no words left) stays empty and yields index 0 (left cumulative 0),
    so once it is reached the rest is filled without looping. Plain Python ints: 1-2 us per symbol.
    """
    wl = words.tolist()
    state, pos = initial_state(wl)
    lookup = bucket if bucket is not None else buckets(cum)
    if not state and not pos:
        return np.zeros(n, dtype=np.int64), state, pos
    out: list[int] = []
    app = out.append
    br = bisect_right
    # literals (no global lookups): QMASK, PRECISION - BUCKET_BITS, PRECISION, LOW, WORD_BITS
    for _ in repeat(None, n):
        q = state & 0xFFFFFF
        sym = lookup[q >> 12]
        if sym < 0:
            sym = br(cum, q, ~sym) - 1
        state = (state >> 24) * freqs[sym] + q - cum[sym]
        app(sym)
        if state < 0x100000000:
            if pos:
                pos -= 1
                state = (state << 32) | wl[pos]
            elif not state:
                break
    out.extend(repeat(0, n - len(out)))     # the empty coder yields index 0 forever
    return np.array(out, dtype=np.int64), state, pos
