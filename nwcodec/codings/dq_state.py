"""Dependent-quantization state machine (FORMAT.md 6.16), shared by the ``dquant`` reader and the trellis.

State ``x`` in ``{0, 1, 2, 3}``, ``x = 0`` before the first level of every segment. Level ``q`` read in
state ``x`` uses quantizer Q1 if ``x`` is 1 or 2, else Q0, and reconstructs to the integer
``r = 2q`` (Q0) or ``r = 2q - sign(q)`` (Q1). Then ``x <- (x + 1) mod 4`` if ``q`` is odd, else
``x <- (-x) mod 4``. (This is VVC's 4-state machine with its states relabelled so that the two
transitions are ``x + 1`` and ``-x``.)

Vectorized with two cumulative sums: with ``a_k = +1`` (``q_k`` odd) or ``-1`` (even) and
``S_k = a_1 ⋯ a_k``, the state after level ``k`` is ``x_k = S_k · Σ_{j≤k} S_j·[q_j odd] mod 4``.
"""
from __future__ import annotations

import numpy as np

Q1_STATES = (1, 2)


def states_before(q: np.ndarray) -> np.ndarray:
    """The state before each level of a run ``q`` that starts in state 0 (int64, values 0…3)."""
    odd = (np.asarray(q, dtype=np.int64) & 1)
    sign = 1 - 2 * (np.cumsum(1 - odd) & 1)          # S_k
    x = (sign * np.cumsum(sign * odd)) & 3            # x_k, two's complement & 3 == mod 4
    out = np.empty_like(x)
    if x.size:
        out[0] = 0
        out[1:] = x[:-1]
    return out


def reconstruct_int(q: np.ndarray) -> np.ndarray:
    """Integers ``r`` (int64) of a run of levels starting in state 0."""
    q64 = np.asarray(q, dtype=np.int64)
    x = states_before(q64)
    q1 = (x == 1) | (x == 2)
    return 2 * q64 - np.where(q1, np.sign(q64), 0)


def states_loop(q: np.ndarray) -> np.ndarray:
    """Reference loop of the same machine (slow; for tests and tiny runs)."""
    out, x = np.empty(len(q), dtype=np.int64), 0
    for i, v in enumerate(np.asarray(q, dtype=np.int64)):
        out[i] = x
        x = (x + 1) % 4 if v & 1 else (-x) % 4
    return out
