"""constriction's ``AnsCoder`` decoder (rANS: 32-bit words, 64-bit state, 24-bit precision), FORMAT.md 6.4.1.

Words are popped from the **end** of the word array: the last one or two words form the initial state
(most significant word last), the rest refill the state from the back towards index 0.
"""
from __future__ import annotations

from bisect import bisect_right

import numpy as np

PRECISION = 24
QMASK = (1 << PRECISION) - 1
WORD_BITS = 32
LOW = 1 << (64 - WORD_BITS)     # the state invariant: state >= 2^32 while words remain


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


def decode(words: np.ndarray, n: int, freqs: list[int], cum: list[int]) -> tuple[np.ndarray, int, int, int]:
    """Decode ``n`` indices; returns ``(indices, final state, words left, decodes made from state 0)``.

    Once the state is 0 with no words left the coder stays there and yields index 0 (left cumulative 0),
    so the rest is filled without looping.
    """
    wl = words.tolist()
    state, pos = initial_state(wl)
    out = np.zeros(n, dtype=np.int64)
    i = 0
    sym = 0
    while i < n:
        if state == 0 and pos == 0:
            break
        q = state & QMASK
        sym = bisect_right(cum, q) - 1
        state = (state >> PRECISION) * freqs[sym] + q - cum[sym]
        if state < LOW and pos:
            pos -= 1
            state = (state << WORD_BITS) | wl[pos]
        out[i] = sym
        i += 1
    return out, state, pos, n - i
