"""Uniform scalar quantization: step sizes from one quality knob, optional RD-optimized rounding."""
from __future__ import annotations

import numpy as np

from ..entropy import FreqTable, choose_table


def rel_error_for_quality(quality: float) -> float:
    """Quality ``Q`` → relative RMS error ``10^(-Q/40)``: a mean relative noise of ``-Q/2`` dB over the quantized
    tensors (per tensor with ``allocation="tensor"``)."""
    return float(10.0 ** (-quality / 40.0))


def step_sizes(w: np.ndarray, rel_error: float, per_channel: bool) -> np.ndarray:
    """Float32 step(s) giving an RMS error ≈ ``rel_error`` × RMS of the tensor (or of each channel)."""
    w64 = w.astype(np.float64).reshape(w.shape[0] if per_channel else 1, -1)
    rms = np.sqrt(np.mean(w64 * w64, axis=1))
    rms = np.where(rms > 0, rms, 1.0)
    return (rel_error * np.sqrt(12.0) * rms).astype(np.float32)


def _broadcast(steps: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return steps.reshape((-1,) + (1,) * (len(shape) - 1)) if steps.size > 1 else steps.reshape(())


def quantize(w: np.ndarray, steps: np.ndarray, rdo: float = 0.0, iterations: int = 2) -> np.ndarray:
    """Integers ``q`` with ``q * step ≈ w``; with ``rdo > 0`` each value picks floor or ceil to
    minimize ``(w - q·step)² / step² + rdo · bits(q)`` under the table of the current choice."""
    s = _broadcast(steps, w.shape).astype(np.float64)
    x = w.astype(np.float64) / s
    q = np.rint(x).astype(np.int64)
    if rdo <= 0:
        return q
    lo_c = np.floor(x).astype(np.int64)
    for _ in range(iterations):
        table = choose_table(q).table()
        b0, b1 = _bits(lo_c, table), _bits(lo_c + 1, table)
        d0, d1 = (x - lo_c) ** 2, (lo_c + 1 - x) ** 2
        q = np.where(d0 + rdo * b0 <= d1 + rdo * b1, lo_c, lo_c + 1)
    return q


def _bits(q: np.ndarray, table: FreqTable) -> np.ndarray:
    idx = q - table.lo
    idx = np.where((idx < 0) | (idx >= table.n), table.n, idx)
    extra = np.where(idx == table.n, 24.0, 0.0)  # escape varint, roughly
    return table.bits_per_index()[idx] + extra


def dequantize(q: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Float32 reconstruction ``q * step`` (elementwise float32: identical on every machine)."""
    return q.astype(np.float32) * _broadcast(steps.astype(np.float32), q.shape)


def row_classes(w: np.ndarray, n_classes: int) -> np.ndarray:
    """Class ``0 … n_classes-1`` of each row (axis 0) by row RMS quantile, as uint8 (FORMAT.md 6.17)."""
    w2 = w.astype(np.float64).reshape(w.shape[0], -1)
    rms = np.sqrt(np.mean(w2 * w2, axis=1)) if w2.shape[1] else np.zeros(w.shape[0])
    edges = np.quantile(rms, np.linspace(0, 1, n_classes + 1)[1:-1])
    return np.searchsorted(edges, rms).astype(np.uint8)
