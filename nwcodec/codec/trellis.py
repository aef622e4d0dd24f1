"""Trellis (Viterbi) search for dependent quantization (the ``dquant`` coding, FORMAT.md 6.15).

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
    cost = np.full((n, 2, 2), np.inf)
    level = np.zeros((n, 2, 2), dtype=np.int64)
    zero_cost = x * x + lam * bits(np.zeros(n, dtype=np.int64))
    # Q0: r = 2q; the two q around x/2
    a = np.floor(x / 2).astype(np.int64)
    for qa in (a, a + 1):
        c = (x - 2 * qa) ** 2 + lam * bits(qa)
        par = qa & 1
        _put(cost[:, 0], level[:, 0], par, c, qa)
    # Q1: r = 2q - sign(q); the two odd r around x, and r = 0
    o = 2 * np.floor((x - 1) / 2).astype(np.int64) + 1
    for r in (o, o + 2):
        qb = np.where(r > 0, (r + 1) // 2, (r - 1) // 2)
        c = (x - r) ** 2 + lam * bits(qb)
        _put(cost[:, 1], level[:, 1], qb & 1, c, qb)
    for k in (0, 1):   # q = 0 (even) competes in both quantizers
        better = zero_cost < cost[:, k, 0]
        cost[:, k, 0] = np.where(better, zero_cost, cost[:, k, 0])
        level[:, k, 0] = np.where(better, 0, level[:, k, 0])
    return cost, level


def _put(cost: np.ndarray, level: np.ndarray, par: np.ndarray, c: np.ndarray, q: np.ndarray) -> None:
    """Keep candidate ``q`` (cost ``c``) in its parity slot where it beats what is there."""
    idx = np.arange(c.size)
    better = c < cost[idx, par]
    cost[idx[better], par[better]] = c[better]
    level[idx[better], par[better]] = q[better]


def trellis_levels(x: np.ndarray, lam: float, table: FreqTable | None, chunk: int | None = None) -> np.ndarray:
    """Levels ``q`` (int64) for the run ``x`` (float64, in units of the step), starting in state 0."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    L = chunk or int(min(max(64, math.isqrt(n) * 2), 2048))
    K = -(-n // L)
    pad = K * L - n
    cost, level = _candidates(np.concatenate([x, np.zeros(pad)]), lam, _bits_fn(table))
    if pad:
        cost[n:] = 0.0   # padded zeros: free, both parities allowed
        level[n:] = 0
    cost = cost.reshape(K, L, 2, 2)
    level = level.reshape(K, L, 2, 2)
    ce = cost[:, :, _QUANT_OF[_PREV_EVEN], 0]   # [K, L, 4 (next state)] cost via even level
    co = cost[:, :, _QUANT_OF[_PREV_ODD], 1]
    J = np.full((K, 4, 4), np.inf)               # [chunk, start state, state]
    J[:, np.arange(4), np.arange(4)] = 0.0
    took_odd = np.empty((L, K, 4, 4), dtype=bool)
    for t in range(L):
        a = J[:, :, _PREV_EVEN] + ce[:, t, None, :]
        b = J[:, :, _PREV_ODD] + co[:, t, None, :]
        odd = b < a
        took_odd[t] = odd
        J = np.where(odd, b, a)
    end = np.argmin(J, axis=2)                    # [K, 4 start]: best end state per start
    ks, ss = np.meshgrid(np.arange(K), np.arange(4), indexing="ij")
    state = end.copy()
    q = np.empty((K, 4, L), dtype=np.int64)
    for t in range(L - 1, -1, -1):
        odd = took_odd[t, ks, ss, state]
        prev = np.where(odd, _PREV_ODD[state], _PREV_EVEN[state])
        q[:, :, t] = level[ks, t, _QUANT_OF[prev], odd.astype(np.int64)]
        state = prev
    out = np.empty((K, L), dtype=np.int64)
    s = 0
    for k in range(K):
        out[k] = q[k, s]
        s = int(end[k, s])
    return out.ravel()[:n]


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
