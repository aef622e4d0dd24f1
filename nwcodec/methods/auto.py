"""Automatic choice: per tensor, the coding on the lowest ``D + λ·R`` line, one slope ``λ`` for the stream.

For every compressible tensor :func:`candidate_points` builds the post-training points of every method
family — uniform quantization with magnitude pruning (OPQ's grid), k-means codebooks (with or without a
pruned zero centroid, as Deep Compression), low rank + sparse and codebook + sparse (LC's additive
combinations) — and measures each one's real coded bytes and (sensitivity-weighted) squared error.
:func:`auto_post_training` picks per tensor the point minimizing ``s_t·SSE + λ·bytes`` and bisects ``λ`` to
the byte target, so the stream sits on the lower convex hull of all per-tensor choices. With calibration data
the distortion ``D`` of a point is measured at the output (:func:`output_distortion`, the default) or, with
``measure="fisher"``, estimated as its Fisher-weighted squared error; without data it is the squared error
relative to the tensor's energy (:func:`relative_weight`, the codec's data-free size rule).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .common import apply_parts, compressible, device_of, weights, write_model
from .ops import (additive, codebook_plain, codebook_with_zero, dense_sum, lowrank_svd, part_bytes, prune_mask,
                  quant_dead_zone, sparse_top)

STEPS = tuple(2.0 ** (-k / 2) for k in range(-5, 12))   # 5.7 … 0.022 × RMS: coarse steps zero most weights
# unpruned quantization, the family most tensors end in, on a quarter-octave grid (the codec's steps are continuous)
FINE_STEPS = tuple(2.0 ** (-k / 4) for k in range(-10, 24))
MEASURES = ("output", "fisher")
KEEPS = (1.0, 0.5, 0.25, 0.12, 0.06)
FAMILIES = ("quant", "codebook", "lowrank", "additive")


@dataclass
class Point:
    label: str
    parts: list
    nbytes: int
    sse: float
    family: str = ""


def _point(name: str, w: np.ndarray, label: str, parts: list, family: str) -> Point:
    err = dense_sum(parts, w.shape).astype(np.float64) - w
    return Point(label, parts, part_bytes(name, w.shape, parts), float(np.sum(err * err)), family)


def candidate_points(name: str, w: np.ndarray, families: tuple[str, ...] = FAMILIES
                     ) -> list[Point]:
    """All candidate codings of one tensor, each with its bytes, squared error and family (``FAMILIES``)."""
    w = np.asarray(w, np.float32)
    rms = float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) or 1.0
    pts = []
    if "quant" in families:
        for keep in KEEPS:
            mask = prune_mask(w, keep)
            for r in (FINE_STEPS if keep == 1.0 else STEPS):
                pts.append(_point(name, w, f"quant keep={keep} step={r:.3g}rms",
                                  [quant_dead_zone(w, r * rms, mask)], "quant"))
    if "codebook" in families:
        for k in (2, 4, 8, 16, 32):
            pts.append(_point(name, w, f"codebook k={k}", [codebook_plain(w, k)], "codebook"))
        for keep in (0.25, 0.1, 0.05):
            for k in (4, 16, 32):
                pts.append(_point(name, w, f"pruned codebook keep={keep} k={k}",
                                  [codebook_with_zero(w, prune_mask(w, keep), k)], "codebook"))
    m, n = (w.shape[0], math.prod(w.shape[1:])) if w.ndim >= 2 else (0, 0)
    if "lowrank" in families and w.ndim >= 2:
        for rank in (1, 2, 4, 8, 16, 32, 64):
            if rank < min(m, n) // 2:
                for frac in (0.0, 0.01, 0.03):
                    parts = [lowrank_svd(w.reshape(m, n), rank)] if frac == 0 else additive(
                        w, "lowrank+sparse", rank=rank, frac=frac, rounds=2, sparse_step=rms / 64)
                    pts.append(_point(name, w, f"lowrank r={rank}" + (f" + sparse {frac}" if frac else ""), parts,
                                      "lowrank"))
    if "additive" in families and w.ndim >= 2:
        for k in (2, 4):
            pts.append(_point(name, w, f"codebook k={k} + sparse 0.01",
                              additive(w, "quant+sparse", k=k, frac=0.01, rounds=2, sparse_step=rms / 64),
                              "additive"))
    return pts


def relative_weight(arrays: dict[str, np.ndarray]) -> dict[str, float]:
    """Data-free weights of each tensor's squared error: ``1/||w||²`` (mean 1), so the choice spends bits where the
    *relative* error is cheapest to lower. This is the codec's data-free size rule (``allocation="size"``):
    relative noise reaches the output alike whatever a tensor's size, so the error goes to the big tensors."""
    inv = {n: 1.0 / max(float(np.sum(np.asarray(a, np.float64) ** 2)), 1e-30) for n, a in arrays.items()}
    mean = sum(inv.values()) / max(len(inv), 1)
    return {n: v / mean for n, v in inv.items()}


def fisher_sensitivity(model: nn.Module, loader, names: list[str], batches: int = 8) -> dict[str, float]:
    """Mean squared loss gradient per weight (a diagonal-Fisher weight for squared errors)."""
    params = dict(model.named_parameters())
    acc = {n: 0.0 for n in names}
    dev = device_of(model)
    model.eval()
    for i, (x, y) in enumerate(loader):
        if i >= batches:
            break
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x.to(dev)), y.to(dev)).backward()
        for n in names:
            acc[n] += float((params[n].grad ** 2).mean())
    model.zero_grad(set_to_none=True)
    total = sum(acc.values()) or 1.0
    return {n: acc[n] / total * len(names) for n in names}


def output_distortion(model: nn.Module, loader, points: dict[str, list[Point]], batches: int = 8
                      ) -> dict[str, list[Point]]:
    """The points with ``sse`` replaced by the summed KL divergence of the model's output distribution from the
    uncompressed model's on ``batches`` calibration batches, when only that tensor takes the point's weights
    (the sum over tensors approximates the whole choice's divergence). The model is left unchanged."""
    params = dict(model.named_parameters())
    dev = device_of(model)
    xs = [x.to(dev) for (x, _), _ in zip(loader, range(batches))]
    model.eval()
    out: dict[str, list[Point]] = {}
    with torch.no_grad():
        ref = [F.log_softmax(model(x), 1) for x in xs]
        for n, pts in points.items():
            orig = params[n].detach().clone()
            measured = []
            for p in pts:
                params[n].copy_(torch.from_numpy(dense_sum(p.parts, tuple(orig.shape)).astype(np.float32)))
                kl = sum(float(F.kl_div(F.log_softmax(model(x), 1), r, log_target=True, reduction="sum"))
                         for x, r in zip(xs, ref))
                measured.append(replace(p, sse=kl))
            params[n].copy_(orig)
            out[n] = measured
    return out


def choose(points: dict[str, list[Point]], target_bytes: float, weight: dict[str, float]) -> dict[str, Point]:
    """Per tensor the point minimizing ``weight·sse + λ·bytes``, ``λ`` bisected to ``target_bytes``."""
    def pick(lam: float) -> dict[str, Point]:
        return {n: min(p, key=lambda x: weight[n] * x.sse + lam * x.nbytes) for n, p in points.items()}

    lo, hi = 1e-15, 1e9
    for _ in range(80):
        lam = math.sqrt(lo * hi)
        total = sum(p.nbytes for p in pick(lam).values())
        lo, hi = (lam, hi) if total > target_bytes else (lo, lam)
    return _fill(pick(hi), points, target_bytes, weight)


def _fill(chosen: dict[str, Point], points: dict[str, list[Point]], target_bytes: float,
          weight: dict[str, float]) -> dict[str, Point]:
    """Spend what the slope left of the budget: best distortion drop per added byte first, while it fits."""
    chosen = dict(chosen)
    while True:
        left = target_bytes - sum(p.nbytes for p in chosen.values())
        best, gain = None, 0.0
        for n, pts in points.items():
            cur = chosen[n]
            for q in pts:
                extra, drop = q.nbytes - cur.nbytes, weight[n] * (cur.sse - q.sse)
                if drop > 0 and extra <= left and drop / max(extra, 1) > gain:
                    best, gain = (n, q), drop / max(extra, 1)
        if best is None:
            return chosen
        chosen[best[0]] = best[1]


def auto_post_training(model: nn.Module, target_bytes: float, loader=None,
                       families: tuple[str, ...] = FAMILIES,
                       log: Callable[[str], None] | None = None,
                       points: dict[str, list[Point]] | None = None, measure: str = "output") -> bytes:
    """One stream where each tensor uses whichever coding is cheapest at the common slope (``target_bytes``
    for the compressible tensors). With a ``loader`` (calibration data) distortions are measured at the output
    (``measure="output"``) or weighted by Fisher sensitivity (``"fisher"``)."""
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    names = compressible(model)
    arrays = weights(model, names)
    pts = points or {n: candidate_points(n, arrays[n], families) for n in names}
    weight = relative_weight(arrays)
    if loader is not None and measure == "output":
        pts = output_distortion(model, loader, pts)
    elif loader is not None:
        weight = fisher_sensitivity(model, loader, names)
    picked = choose(pts, target_bytes, weight)
    if log:
        for n, p in picked.items():
            log(f"{n}: {p.label} ({p.nbytes} B)")
    coded = {n: p.parts for n, p in picked.items()}
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "auto", "choices": {n: p.label for n, p in picked.items()}})


auto = auto_post_training
