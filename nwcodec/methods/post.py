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
from ..codec.writer import StreamWriter
from ..codings.dtypes import FLOAT_DTYPES
from ..errors import InputError
from .auto import candidate_points, choose
from .opq import opq_allocate, parts_for

FAMILIES = {"codebook": ("codebook",), "lowrank-sparse": ("lowrank",), "auto": ("quant", "codebook", "lowrank",
                                                                              "additive")}
METHODS = ("opq",) + tuple(FAMILIES)
MIN_ELEMENTS = 64


def choose_parts(arrays: dict[str, np.ndarray], method: str, target_bytes: float,
                 log: Callable[[str], None] | None = None) -> dict[str, list]:
    """Parts per compressible array for ``method`` at ``target_bytes``."""
    if method == "opq":
        return parts_for(arrays, opq_allocate(arrays, target_bytes))
    if method not in FAMILIES:
        raise InputError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    pts = {n: candidate_points(n, a, FAMILIES[method]) for n, a in arrays.items()}
    picked = choose(pts, target_bytes, {n: 1.0 for n in arrays})
    if log:
        for n, p in picked.items():
            log(f"{n}: {p.label} ({p.nbytes} B)")
    return {n: p.parts for n, p in picked.items()}


def encode_method(weights: Any, method: str, target_bytes: float | None = None, bpw: float = 2.0,
                  log: Callable[[str], None] | None = None) -> bytes:
    """A ``.nwc`` of ``weights`` (module, state dict or file) compressed by a data-free method."""
    arrays, dtypes = load_weights(weights)
    comp = {n: a.astype(np.float32) for n, a in arrays.items()
            if dtypes[n] in FLOAT_DTYPES and a.ndim >= 2 and a.size >= MIN_ELEMENTS and np.isfinite(a).all()}
    if not comp:
        raise InputError("no float tensor with >= 2 dims and >= 64 elements to compress")
    budget = target_bytes if target_bytes is not None else bpw * sum(a.size for a in comp.values()) / 8
    coded = choose_parts(comp, method, budget, log)
    w = StreamWriter()
    for n, a in arrays.items():
        if n in coded:
            w.add_parts(n, a.shape, coded[n], dtype=dtypes[n])
        else:
            w.add_array(n, a, dtypes[n])
    return w.finish(meta={"method": method})
