"""Pure parts of the NNCodec comparison: weight SNR and bytes (or seconds) at matched fidelity.

A method's curve is its rate-fidelity frontier (points that no smaller stream beats in fidelity), with
log(bytes) interpolated linearly in fidelity between neighbouring frontier points; nothing is extrapolated.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

Point = Mapping[str, float]      # at least "bytes" and "fidelity" (and "decode_s" for speed ratios)


def weight_snr_db(ref: Mapping[str, np.ndarray], dec: Mapping[str, np.ndarray]) -> float:
    """``10·log10(Σw² / Σ(w−ŵ)²)`` over every floating tensor of ``ref`` with ≥ 2 dims (``inf`` when exact)."""
    signal = noise = 0.0
    for name, w in ref.items():
        w = np.asarray(w)
        if w.ndim < 2 or not np.issubdtype(w.dtype, np.floating):
            continue
        w64 = w.astype(np.float64)
        signal += float(np.sum(w64 * w64))
        noise += float(np.sum((w64 - np.asarray(dec[name], dtype=np.float64)) ** 2))
    return math.inf if noise == 0 else 10 * math.log10(signal / noise)


def frontier(points: Sequence[Point]) -> list[Point]:
    """The points no smaller (or equal-size, earlier) point matches in fidelity, by increasing bytes."""
    out: list[Point] = []
    for p in sorted(points, key=lambda p: (p["bytes"], -p["fidelity"])):
        if math.isfinite(p["fidelity"]) and (not out or p["fidelity"] > out[-1]["fidelity"]):
            out.append(p)
    return out


def value_at(points: Sequence[Point], level: float, key: str = "bytes") -> float | None:
    """``key`` (bytes, or e.g. decode_s) at fidelity ``level``, log-linear between frontier points;
    None outside the frontier's fidelity range."""
    f = frontier(points)
    if not f or not f[0]["fidelity"] <= level <= f[-1]["fidelity"]:
        return None
    fid = np.array([p["fidelity"] for p in f])
    logv = np.log([max(float(p[key]), 1e-12) for p in f])
    return float(np.exp(np.interp(level, fid, logv)))


def ratio_at(ours: Sequence[Point], theirs: Sequence[Point], level: float, key: str = "bytes") -> float | None:
    """``ours / theirs`` of ``key`` at fidelity ``level``; None when either curve does not reach it."""
    a, b = value_at(ours, level, key), value_at(theirs, level, key)
    return None if a is None or b is None else a / b


def common_range(a: Sequence[Point], b: Sequence[Point]) -> tuple[float, float] | None:
    """The fidelity interval both frontiers cover, or None."""
    fa, fb = frontier(a), frontier(b)
    if not fa or not fb:
        return None
    lo, hi = max(fa[0]["fidelity"], fb[0]["fidelity"]), min(fa[-1]["fidelity"], fb[-1]["fidelity"])
    return (lo, hi) if lo <= hi else None
