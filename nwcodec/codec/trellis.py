"""Trellis (Viterbi) search for dependent quantization (the ``dquant`` coding, FORMAT.md 6.16).

Minimizes ``Σ (x - r)² + lam · bits(q)`` over level sequences ``q``, where ``x = w / step`` and ``r`` is the
reconstruction integer of ``q`` under the 4-state machine of :mod:`nwcodec.codings.dq_state`, and ``bits``
comes from the integer table that will code the levels (re-chosen from the levels, ``iterations`` times).

Per element and quantizer only the best even and best odd level matter (the parity picks the next state), so
each Viterbi step is a 4-state min of two sums. The sequence is cut into chunks searched side by side (one
trellis per chunk and start state, numpy across chunks); chunk ``k+1`` then starts in the end state of chunk
``k``'s path (exact within chunks, stitched at chunk boundaries).
"""
from __future__ import annotations

import math

import numpy as np

from ..entropy import FreqTable, choose_table
from ..codings.dq_state import reconstruct_int

ESCAPE_BITS = 24.0
DQ_LAMBDA = 0.6          # rate weight (bits) against squared error in units of step² (measured, MNIST CNN)
DQ_STEP_RATIO = 0.575    # dquant step / plain step for about the same SNR at DQ_LAMBDA (measured: −4.8 dB)
# predecessor of state s' through an even level is -s' mod 4, through an odd level s'-1 mod 4
_PREV_EVEN = np.array([0, 3, 2, 1])
_PREV_ODD = np.array([3, 0, 1, 2])
_QUANT_OF = np.array([0, 1, 1, 0])   # quantizer used in state s


def _bits_fn(table: FreqTable | None):
    if table is None:
        return lambda q: np.zeros(q.shape)
    bpi = np.append(table.bits_per_index(), table.bits_per_index()[-1] + ESCAPE_BITS)

    def bits(q: np.ndarray) -> np.ndarray:
        idx = q - table.lo
        idx = np.where((idx < 0) | (idx >= table.n), table.n, idx)
        return bpi[idx]
    return bits


def _candidates(x: np.ndarray, lam: float, bits) -> tuple[np.ndarray, np.ndarray]:
    """Best cost and level per element, quantizer and parity: arrays ``[n, 2 (quantizer), 2 (parity)]``."""
    n = x.size
    cost = np.empty((n, 2, 2))
    level = np.empty((n, 2, 2), dtype=np.int64)
    zq = np.zeros(n, dtype=np.int64)
    zero_cost = x * x + lam * bits(zq)
    # Q0: r = 2q; of the two q around x/2 one is even, one odd
    a = np.floor(x / 2).astype(np.int64)
    qe = a + (a & 1)
    qo = a + 1 - (a & 1)
    ce = (x - 2 * qe) ** 2 + lam * bits(qe)
    level[:, 0, 1] = qo
    cost[:, 0, 1] = (x - 2 * qo) ** 2 + lam * bits(qo)
    # Q1: r = 2q - sign(q); the two odd r around x (levels of opposite parity unless r = -1, 1)
    o = 2 * np.floor((x - 1) / 2).astype(np.int64) + 1
    q1 = np.where(o > 0, (o + 1) // 2, (o - 1) // 2)
    q2 = np.where(o + 2 > 0, (o + 3) // 2, (o + 1) // 2)
    c1 = (x - o) ** 2 + lam * bits(q1)
    c2 = (x - o - 2) ** 2 + lam * bits(q2)
    both_odd = (q1 & 1) & (q2 & 1)
    odd_first = (q1 & 1).astype(bool)
    c_odd = np.where(odd_first, c1, c2)
    q_odd = np.where(odd_first, q1, q2)
    better2 = both_odd.astype(bool) & (c2 < c1)
    cost[:, 1, 1] = np.where(better2, c2, c_odd)
    level[:, 1, 1] = np.where(better2, q2, q_odd)
    c_even = np.where(both_odd.astype(bool), np.inf, np.where(odd_first, c2, c1))
    q_even = np.where(odd_first, q2, q1)
    for k, (c, q) in enumerate(((ce, qe), (c_even, q_even))):   # q = 0 (even) competes in both quantizers
        z = zero_cost < c
        cost[:, k, 0] = np.where(z, zero_cost, c)
        level[:, k, 0] = np.where(z, 0, q)
    return cost, level


def trellis_levels(x: np.ndarray, lam: float, table: FreqTable | None, chunk: int = 256) -> np.ndarray:
    """Levels ``q`` (int64) for the run ``x`` (float64, in units of the step), starting in state 0."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    L = max(1, min(chunk, n))
    K = -(-n // L)
    pad = K * L - n
    cost, level = _candidates(np.concatenate([x, np.zeros(pad)]), lam, _bits_fn(table))
    if pad:
        cost[n:] = 0.0   # padding after the run: free
        level[n:] = 0
    cost = cost.reshape(K, L, 2, 2).transpose(1, 0, 2, 3)     # [L, K, quantizer, parity]
    level = level.reshape(K, L, 2, 2).transpose(1, 0, 2, 3)
    ce = np.ascontiguousarray(cost[:, :, _QUANT_OF[_PREV_EVEN], 0])[:, :, None, :]   # [L, K, 1, 4 next state]
    co = np.ascontiguousarray(cost[:, :, _QUANT_OF[_PREV_ODD], 1])[:, :, None, :]
    J = np.full((K, 4, 4), np.inf)               # [chunk, start state, state]
    J[:, np.arange(4), np.arange(4)] = 0.0
    took_odd = np.empty((L, K, 4, 4), dtype=bool)
    for t in range(L):
        a = J[:, :, _PREV_EVEN]
        a += ce[t]
        b = J[:, :, _PREV_ODD]
        b += co[t]
        np.less(b, a, out=took_odd[t])
        J = np.minimum(a, b)
    end = np.argmin(J, axis=2)                    # [K, 4 start]: best end state per start state
    start = np.empty(K, dtype=np.int64)
    s = 0
    for k in range(K):                            # chunk k+1 starts where chunk k's path ends
        start[k] = s
        s = int(end[k, s])
    ks = np.arange(K)
    state = end[ks, start]
    q = np.empty((L, K), dtype=np.int64)
    for t in range(L - 1, -1, -1):
        odd = took_odd[t, ks, start, state]
        prev = np.where(odd, _PREV_ODD[state], _PREV_EVEN[state])
        q[t] = level[t, ks, _QUANT_OF[prev], odd.astype(np.int64)]
        state = prev
    return q.T.ravel()[:n]


def dq_quantize(x: np.ndarray, lam: float, iterations: int = 2, segment: int = 1 << 20,
                max_alphabet: int = 4096) -> np.ndarray:
    """Trellis levels for ``x`` (float64, units of the step), the state reset at every ``segment`` elements;
    the rate term uses the table chosen from the previous pass's levels (first pass: distortion only)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    table = None
    q = np.zeros(0, dtype=np.int64)
    for it in range(iterations if lam > 0 else 1):
        q = np.concatenate([trellis_levels(x[i:i + segment], lam if table is not None else 0.0, table)
                            for i in range(0, max(x.size, 1), segment)]) if x.size else q
        if lam > 0:
            table = choose_table(q, max_alphabet=max_alphabet).table()
    return q


def dq_reconstruct(q: np.ndarray, segment: int = 1 << 20) -> np.ndarray:
    """Reconstruction integers of ``q`` with the state reset every ``segment`` elements (int64)."""
    q = np.asarray(q, dtype=np.int64).ravel()
    return np.concatenate([reconstruct_int(q[i:i + segment]) for i in range(0, q.size, segment)]) if q.size \
        else np.zeros(0, dtype=np.int64)
