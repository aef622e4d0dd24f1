"""Numpy building blocks of the methods: 1-D k-means, magnitude pruning, truncated SVD, part builders.

Everything returns writer parts (:mod:`nwcodec.codec.writer_parts`) holding exactly what the receiver
reads, so ``part.dense(shape)`` is the decoded tensor.
"""
from __future__ import annotations

import math

import numpy as np

from ..codec.writer import CodebookPart, FloatVec, LowRankPart, QuantPart, SparsePart, StreamWriter, dense_sum


def kmeans_1d(x: np.ndarray, k: int, iters: int = 30, init: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means on scalars with linear initialization (Han et al.), or from ``init`` centroids (a
    warm start, as the LC algorithm's C steps); ``(centroids, labels)``."""
    x = np.asarray(x, np.float64).ravel()
    if x.size == 0:
        return np.zeros(1, np.float32), np.zeros(0, np.int64)
    k = max(1, min(k, np.unique(x).size))
    c = (np.sort(np.asarray(init, np.float64).ravel()) if init is not None and np.size(init) == k
         else np.linspace(x.min(), x.max(), k))
    xs = np.sort(x)
    for _ in range(iters):
        edges = (c[1:] + c[:-1]) / 2
        lab = np.searchsorted(edges, xs)
        sums = np.bincount(lab, xs, minlength=k)
        cnt = np.bincount(lab, minlength=k)
        new = np.where(cnt > 0, sums / np.maximum(cnt, 1), c)
        new.sort()
        if np.allclose(new, c):
            break
        c = new
    c = c.astype(np.float32)
    lab = np.searchsorted((c[1:].astype(np.float64) + c[:-1]) / 2, x)
    return c, lab.astype(np.int64)


def prune_mask(w: np.ndarray, keep: float) -> np.ndarray:
    """True for the ``keep`` fraction of largest-magnitude weights."""
    a = np.abs(np.asarray(w)).ravel()
    n_keep = int(round(keep * a.size))
    if n_keep >= a.size:
        return np.ones(w.shape, bool)
    if n_keep <= 0:
        return np.zeros(w.shape, bool)
    thr = np.partition(a, a.size - n_keep)[a.size - n_keep]
    return (np.abs(w) >= thr) & (np.abs(w) > 0)


def codebook_with_zero(w: np.ndarray, mask: np.ndarray, k: int) -> CodebookPart:
    """Pruned weights share centroid 0 (exactly 0.0); the kept ones ``k - 1`` k-means centroids."""
    kept = np.asarray(w, np.float32)[mask]
    c, lab = kmeans_1d(kept, max(1, k - 1))
    idx = np.zeros(w.shape, np.int64)
    idx[mask] = lab + 1
    return CodebookPart(idx, np.concatenate([[0.0], c]).astype(np.float32))


def codebook_plain(w: np.ndarray, k: int, init: np.ndarray | None = None) -> CodebookPart:
    """k-means codebook of all weights (one codebook shared by every channel), optionally warm-started."""
    c, lab = kmeans_1d(w, k, init=init)
    return CodebookPart(lab.reshape(w.shape), c)


def sparse_top(r: np.ndarray, frac: float, step: float | None = None) -> SparsePart:
    """The ``frac`` largest-magnitude entries of ``r`` (values raw, or quantized with ``step``)."""
    m = prune_mask(r, frac)
    return SparsePart.from_dense(np.where(m, r, 0).astype(np.float32), step)


def lowrank_svd(w2: np.ndarray, rank: int, rel_step: float | None = 1 / 256) -> LowRankPart:
    """Truncated SVD ``U·Vᵀ`` (singular values split evenly), factors quantized at ``rel_step`` × their RMS."""
    u, s, vt = np.linalg.svd(np.asarray(w2, np.float64), full_matrices=False)
    r = max(1, min(rank, s.size))
    a = u[:, :r] * np.sqrt(s[:r])
    b = vt[:r].T * np.sqrt(s[:r])
    if rel_step is None:
        return LowRankPart.from_factors(a, b)
    return LowRankPart.from_factors(a, b, _rms(a) * rel_step, _rms(b) * rel_step)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) or 1.0


def quant_dead_zone(w: np.ndarray, step: float, mask: np.ndarray | None = None) -> QuantPart:
    """Uniform quantization with one step (OPQ's unified channel-wise grid); masked-out weights are 0."""
    s = np.float32(step)
    q = np.rint(np.asarray(w, np.float32) / s)
    if mask is not None:
        q = np.where(mask, q, 0)
    return QuantPart(q, [s])


def as_matrix(shape: tuple[int, ...]) -> tuple[int, int]:
    return shape[0], math.prod(shape[1:])


PART_KINDS = {CodebookPart: "quant", LowRankPart: "lowrank", SparsePart: "sparse"}


def additive(w: np.ndarray, scheme: str, k: int = 2, rank: int = 4, frac: float = 0.01,
             rounds: int = 4, sparse_step: float | None = None, init: list | None = None) -> list:
    """LC's C step for an additive combination (``"quant+sparse"``, ``"lowrank+sparse"``,
    ``"quant+lowrank+sparse"``): alternate the parts on the residual of the others (``rounds`` times).
    ``init`` (the previous C step's parts) warm-starts the alternation and the k-means centroids, so that
    successive C steps move continuously (the LC reference keeps each part's current solution too)."""
    w = np.asarray(w, np.float32)
    shape = w.shape
    use = set(scheme.split("+"))
    if not use <= {"quant", "lowrank", "sparse"}:
        raise ValueError(f"unknown additive scheme {scheme!r}")
    m, n = as_matrix(shape)
    parts: dict[str, object] = {PART_KINDS[type(p)]: p for p in (init or []) if PART_KINDS.get(type(p)) in use}

    def rest(skip: str) -> np.ndarray:
        others = [p for name, p in parts.items() if name != skip]
        return w - (dense_sum(others, shape) if others else 0)

    for _ in range(rounds):
        if "lowrank" in use:
            parts["lowrank"] = lowrank_svd(rest("lowrank").reshape(m, n), rank)
        if "quant" in use:
            prev = parts.get("quant")
            parts["quant"] = codebook_plain(rest("quant"), k, None if prev is None else prev.cb.values)
        if "sparse" in use:
            parts["sparse"] = sparse_top(rest("sparse"), frac, sparse_step)
    order = [x for x in ("quant", "lowrank", "sparse") if x in parts]
    return [parts[x] for x in order]


def part_bytes(name: str, shape: tuple[int, ...], parts: list) -> int:
    """Bytes ``parts`` add to a stream (a one-tensor stream minus the empty-stream framing)."""
    w = StreamWriter()
    w.add_parts(name, shape, parts)
    return len(w.finish(compress_header=False)) - _EMPTY


_EMPTY = len(StreamWriter().finish(compress_header=False))

__all__ = ["kmeans_1d", "prune_mask", "codebook_with_zero", "codebook_plain", "sparse_top", "lowrank_svd",
           "quant_dead_zone", "additive", "part_bytes", "dense_sum", "FloatVec"]
