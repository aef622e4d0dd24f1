"""Data-free allocation to a size or fidelity target: ``nwcodec encode --target-size 40KB``.

Without data, each quantized tensor's relative noise (MSE / mean square) is taken to reach the output
equally, whatever its size: sensitivity ``a_t = 1 / (12 rms_t²)`` in :func:`allocate.allocate_steps`.
Large layers (which are usually redundant) then get coarser steps, ``h_t ∝ sqrt(n_t) · rms_t``. One scalar,
the predicted total distortion ``D``, is searched (bisection in ``log D``) until the stream fits
``target_size`` bytes or the measured distortion meets a fidelity target (weight SNR ``-10 log10 D`` dB,
or a weight cosine ``1 / sqrt(1 + D)``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..errors import InputError
from .allocate import allocate_steps
from .quantize import dequantize, quantize
from .sources import Source

LOG_D_RANGE = (-18.0, 5.0)
SEARCH_STEPS = 40
TOLERANCE = 0.01           # stop when the bracket on log10 D is this narrow
MIN_QUANT_ELEMENTS = 64


@dataclass
class TargetResult:
    data: bytes
    distortion: float          # measured Σ_t MSE_t / mean(w_t²) over quantized tensors
    steps: dict[str, float]
    tries: int

    @property
    def snr_db(self) -> float:
        return -10.0 * math.log10(max(self.distortion, 1e-300))


def quantized_names(src: Source) -> list[str]:
    """Tensors the encoder quantizes by default: float, ≥ 2 dims, ≥ 64 finite elements."""
    return [n for n, a in src.arrays.items() if src.dtypes[n] in ("float32", "float16", "float64", "bfloat16")
            and a.ndim >= 2 and a.size >= MIN_QUANT_ELEMENTS and np.isfinite(a).all() and np.any(a)]


def data_free_sensitivity(src: Source, names: list[str]) -> dict[str, float]:
    return {n: 1.0 / (12.0 * float(np.mean(np.square(src.arrays[n], dtype=np.float64)))) for n in names}


def measured_distortion(src: Source, steps: dict[str, float]) -> float:
    total = 0.0
    for n, h in steps.items():
        w = src.arrays[n].astype(np.float32)
        e = dequantize(quantize(w, np.array([h], dtype=np.float32)), np.array([h], dtype=np.float32)) - w
        total += float(np.mean(np.square(e, dtype=np.float64)) / np.mean(np.square(w, dtype=np.float64)))
    return total


def fidelity_to_distortion(spec: str) -> float:
    """``"30dB"`` (weight SNR) or a cosine in (0, 1) such as ``"0.999"`` → target distortion ``D``."""
    s = spec.strip().lower()
    try:
        if s.endswith("db"):
            return 10.0 ** (-float(s[:-2]) / 10.0)
        cos = float(s)
    except ValueError:
        raise InputError(f"fidelity must be like 30dB or a cosine such as 0.999, not {spec!r}") from None
    if not 0 < cos < 1:
        raise InputError(f"a cosine fidelity must lie strictly between 0 and 1, not {spec!r}")
    return 1.0 / cos ** 2 - 1.0


def search(src: Source, encode_steps: Callable[[dict[str, float]], bytes], *, target_size: int | None = None,
           target_distortion: float | None = None, report: Callable[[str], None] | None = None,
           sensitivity: dict[str, float] | None = None) -> TargetResult:
    """Bisect ``log D`` for the largest stream ≤ ``target_size`` or the smallest with distortion ≤ target.

    ``sensitivity`` (e.g. measured on calibration data by :func:`allocate.probe_sensitivities`) replaces the
    data-free one; the fidelity target still refers to the measured weight distortion."""
    if (target_size is None) == (target_distortion is None):
        raise ValueError("give exactly one of target_size and target_distortion")
    names = quantized_names(src)
    if not names:
        raise InputError("the model has no tensors to quantize: a size or fidelity target cannot be met")
    sens = data_free_sensitivity(src, names) if sensitivity is None else {n: sensitivity[n] for n in names}
    lo, hi = LOG_D_RANGE                      # lo: high fidelity (large), hi: low fidelity (small)
    best: TargetResult | None = None
    tries = 0

    def attempt(log_d: float) -> tuple[bool, TargetResult]:
        nonlocal tries
        tries += 1
        steps = allocate_steps(src.arrays, sens, 10.0 ** log_d)
        dist = measured_distortion(src, steps)
        if target_distortion is not None:
            return dist <= target_distortion, TargetResult(b"", dist, steps, tries)
        data = encode_steps(steps)
        r = TargetResult(data, dist, steps, tries)
        if report:
            report(f"try {tries}: {len(data):,} bytes, weight SNR {r.snr_db:.1f} dB")
        return target_size is None or len(data) <= target_size, r

    ok, r = attempt(hi if target_size is not None else lo)
    if not ok:
        what = (f"{target_size:,} bytes: the smallest stream is {len(r.data):,} bytes" if target_size is not None
                else f"distortion {target_distortion:.3g}: the finest allocation gives {r.distortion:.3g}")
        raise InputError(f"cannot reach {what}")
    best = r
    for _ in range(SEARCH_STEPS):
        if hi - lo < TOLERANCE:
            break
        mid = (lo + hi) / 2
        ok, r = attempt(mid)
        if target_size is not None:
            # fits: try finer (smaller D); too big: coarser
            if ok:
                best, hi = r, mid
            else:
                lo = mid
        else:
            if ok:
                best, lo = r, mid
            else:
                hi = mid
    if target_distortion is not None:
        best.data = encode_steps(best.steps)
        if report:
            report(f"{len(best.data):,} bytes, weight SNR {best.snr_db:.1f} dB")
    best.tries = tries
    return best
