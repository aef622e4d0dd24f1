"""Data-free post-training methods on plain state dicts (what ``nwcodec encode --method`` runs).

``encode_method(weights, method, target_bytes)``: ``opq`` (analytic masks + steps), ``codebook``
(k-means codebooks, optionally pruned), ``lowrank-sparse`` (low rank + sparse sums), ``auto`` (per-tensor
choice among all families by RD slope). ``target_bytes`` is the budget of the compressed tensors
(default: ``bpw`` bits per compressed weight). Float tensors with ≥ 2 dims and ≥ 64 elements are
compressed; every other tensor is coded bit-exactly.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..codec.sources import load_weights
from ..codec.writer import StreamWriter, write_within_table_work
from ..codings.dtypes import FLOAT_DTYPES
from ..errors import InputError
from .auto import candidate_points, choose, relative_weight
from .opq import opq_allocate, parts_for

FAMILIES = {"codebook": ("codebook",), "lowrank-sparse": ("lowrank",), "auto": ("quant", "codebook", "lowrank",
                                                                              "additive")}
METHODS = ("opq",) + tuple(FAMILIES)
MIN_ELEMENTS = 64
FALLBACK = "quant"   # a tensor the family cannot code (low rank of a vector) takes uniform quantization


def choose_parts(arrays: dict[str, np.ndarray], method: str, target_bytes: float,
                 log: Callable[[str], None] | None = None, points: dict | None = None) -> dict[str, list]:
    """Parts per compressible array for ``method`` at ``target_bytes``; ``points`` reuses the candidates
    of :func:`method_points` (one sweep of budgets measures them once)."""
    if method == "opq":
        return parts_for(arrays, opq_allocate(arrays, target_bytes))
    pts = points if points is not None else method_points(arrays, method)
    picked = choose(pts, target_bytes, relative_weight(arrays))
    if log:
        for n, p in picked.items():
            log(f"{n}: {p.label} ({p.nbytes} B)")
    return {n: p.parts for n, p in picked.items()}


def method_points(arrays: dict[str, np.ndarray], method: str, measured: dict | None = None) -> dict[str, list]:
    """Every candidate coding of each array for a family ``method`` (bytes and error measured); with
    ``measured`` (points of a wider method, e.g. ``auto``) the subset of those in ``method``'s families. A tensor
    with no candidate in the family (a vector under ``lowrank-sparse``) gets the ``FALLBACK`` family's."""
    if method not in FAMILIES:
        raise InputError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    fams = FAMILIES[method]
    if measured is not None:
        pts = {n: [p for p in measured[n] if p.family in fams] for n in arrays}
        return {n: v or [p for p in measured[n] if p.family == FALLBACK] for n, v in pts.items()}
    pts = {n: candidate_points(n, a, fams) for n, a in arrays.items()}
    return {n: v or candidate_points(n, arrays[n], (FALLBACK,)) for n, v in pts.items()}


def compressible_arrays(arrays: dict[str, np.ndarray], dtypes: dict[str, str]) -> dict[str, np.ndarray]:
    """The float tensors a method compresses (≥ 2 dims, ≥ 64 elements, finite), as float32."""
    return {n: a.astype(np.float32) for n, a in arrays.items()
            if dtypes[n] in FLOAT_DTYPES and a.ndim >= 2 and a.size >= MIN_ELEMENTS and np.isfinite(a).all()}


def encode_method(weights: Any, method: str, target_bytes: float | None = None, bpw: float = 2.0,
                  log: Callable[[str], None] | None = None, points: dict | None = None) -> bytes:
    """A ``.nwc`` of ``weights`` (module, state dict or file) compressed by a data-free method."""
    arrays, dtypes = load_weights(weights)
    comp = compressible_arrays(arrays, dtypes)
    if not comp:
        raise InputError("no float tensor with >= 2 dims and >= 64 elements to compress")
    budget = target_bytes if target_bytes is not None else bpw * sum(a.size for a in comp.values()) / 8
    coded = choose_parts(comp, method, budget, log, points)

    def fill(w: StreamWriter) -> None:
        for n, a in arrays.items():
            if n in coded:
                w.add_parts(n, a.shape, coded[n], dtype=dtypes[n])
            else:
                w.add_array(n, a, dtypes[n])

    return write_within_table_work(fill, meta={"method": method})
