"""Writer of layered streams (format 1.4): one stream, ordered levels, each a refinement of the last.

Level 0 quantizes every quantizable tensor on a coarse step (optionally leaving a fraction of the
smallest weights at zero); level ``k`` divides the step by an integer ``factor`` and sends the residual
``r = Q_k - factor * Q_(k-1)`` (coding ``refine``), filling in weights earlier levels left at zero.
Other tensors (biases, norms) go losslessly into level 0 and are re-sent only when a level's target
weights change them. Every prefix that ends at a ``LEVL`` chunk is itself a valid stream.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..bitstream import DEFAULT_LIMITS, Chunk, Writer, pack, strict_json
from ..bitstream.limits import table_work
from ..codings.dtypes import FLOAT_DTYPES
from ..entropy import choose_table, write_description
from ..errors import LimitExceededError
from .encoder import DEFAULT_SEGMENT, MIN_QUANT_ELEMENTS, _StreamBuilder, allocation_rel_errors
from .head_chunk import header_chunk
from .payloads import write_segments
from .quantize import rel_error_for_quality, step_sizes
from .sources import load_weights

LAYERED_VERSION = (1, 4)


@dataclass
class LevelSpec:
    """One level: step divisor vs the previous level, sparsity, optional target weights and metrics."""

    factor: int = 2
    sparsity: float = 0.0
    weights: Any = None          # this level's target weights (default: the model's)
    metrics: dict | None = None  # recorded in the level's LEVL chunk (e.g. accuracy, psnr)


def _mask_smallest(q: np.ndarray, w: np.ndarray, sparsity: float) -> np.ndarray:
    """``q`` with the ``sparsity`` fraction of smallest-magnitude weights set to 0 (stable order)."""
    n_zero = int(np.floor(sparsity * w.size))
    if n_zero <= 0:
        return q
    q = q.copy().reshape(-1)
    q[np.argsort(np.abs(w).reshape(-1), kind="stable")[:n_zero]] = 0
    return q.reshape(w.shape)


def _ints(w: np.ndarray, steps: np.ndarray, per_channel: bool) -> np.ndarray:
    s = steps.reshape((-1,) + (1,) * (w.ndim - 1)) if per_channel else steps.reshape(())
    return np.rint(w.astype(np.float64) / s.astype(np.float64)).astype(np.int64)


def _chunks(b: _StreamBuilder) -> list[Chunk]:
    return [Chunk("TABL", write_description(d)) for d in b.tables] + [Chunk("TENS", p) for p in b.payloads]


def _add_plain(b: _StreamBuilder, name: str, arr: np.ndarray, dtype: str) -> None:
    if dtype in FLOAT_DTYPES and arr.size:
        b.add_bytes(name, arr, dtype)
    else:
        b.add_raw(name, arr, dtype)


def _add_int(b: _StreamBuilder, entry: dict, steps: np.ndarray, values: np.ndarray) -> None:
    entry["table"] = b.add_table(choose_table(values, max_alphabet=b.max_alphabet))
    w = b._start(entry)
    w.array(steps.astype(np.float32), "<f4")
    write_segments(w, values, b.tables[entry["table"]].table(), b.segment_size)
    b.payloads.append(w.getvalue())


def _level_json(k: int, b: _StreamBuilder | None, spec: LevelSpec) -> bytes:
    info: dict = {"level": k}
    if b is not None:
        info["tensors"], info["tables"] = b.entries, len(b.tables)
    if spec.metrics:
        info["metrics"] = {m: float(v) for m, v in spec.metrics.items()}
    return strict_json.dumps(info)


def encode_layered(weights: Any, levels: list[LevelSpec] | int = 3, *, quality: float = 30.0,
                   rel_error: float | None = None, factor: int = 2, per_channel: bool = False,
                   steps: dict[str, float] | None = None, min_quant_elements: int = MIN_QUANT_ELEMENTS,
                   kind: str = "weights", extra: dict | None = None, meta: dict | None = None,
                   segment_size: int = DEFAULT_SEGMENT, compress_header: bool = True,
                   allocation: str = "size") -> bytes:
    """A layered stream of ``weights`` (module, state dict or path): ``levels`` specs, or that many levels
    each refining the step by ``factor``. Level 0's steps come from ``quality``/``rel_error`` spread over the
    tensors as :func:`~nwcodec.codec.encoder.encode` spreads them (``allocation``, default ``"size"``; so level 0
    is the single-rate stream of that quality), or from ``steps``, one float per tensor;
    ``LevelSpec.weights`` gives per-level targets (e.g. LCS points)."""
    specs = [LevelSpec(factor=factor) for _ in range(levels)] if isinstance(levels, int) else list(levels)
    if not specs:
        raise ValueError("a layered stream needs at least one level")
    arrays, dtypes = load_weights(weights)
    targets = [arrays if s.weights is None else load_weights(s.weights)[0] for s in specs]
    rel = rel_error if rel_error is not None else rel_error_for_quality(quality)
    chain = {n for n, a in arrays.items() if dtypes[n] in FLOAT_DTYPES and a.ndim >= 2
             and a.size >= min_quant_elements and all(np.isfinite(t[n]).all() for t in targets)}
    rels = allocation_rel_errors({n: arrays[n].size for n in chain}, rel, allocation)
    cur_steps: dict[str, np.ndarray] = {}
    cur_q: dict[str, np.ndarray] = {}
    sent: dict[str, np.ndarray] = {}
    chunks: list[Chunk] = []
    work = 0
    for k, (spec, tgt) in enumerate(zip(specs, targets)):
        b = _StreamBuilder(kind, segment_size)
        for name in arrays:
            w, dtype = np.asarray(tgt[name]), dtypes[name]
            if name in chain:
                axis = 0 if per_channel else None
                if k == 0:
                    s = step_sizes(w, rels[name], per_channel)
                    if steps and name in steps:
                        s = np.full_like(s, steps[name], dtype=np.float32)
                else:
                    s = (cur_steps[name] / np.float32(spec.factor)).astype(np.float32)
                q = _mask_smallest(_ints(w, s, per_channel), w, spec.sparsity)
                entry = {"name": name, "shape": list(w.shape), "dtype": dtype}
                if k == 0:
                    _add_int(b, dict(entry, coding="quant", axis=axis), s, q)
                elif spec.factor != 1 or not np.array_equal(q, cur_q[name]) or not np.array_equal(s, cur_steps[name]):
                    r = q - spec.factor * cur_q[name]
                    _add_int(b, dict(entry, coding="refine", axis=axis, factor=spec.factor), s, r)
                cur_steps[name], cur_q[name] = s, q
            elif k == 0 or not np.array_equal(w, sent[name]):
                _add_plain(b, name, w, dtype)
                sent[name] = w
        work += b.table_work()
        if work > DEFAULT_LIMITS.max_table_work:
            raise LimitExceededError("the layered stream's tables exceed what a default decoder accepts")
        if k == 0:
            head = {"kind": kind, "tensors": b.entries, "tables": len(b.tables), "levels": len(specs)}
            head.update(extra or {})
            if meta:
                head["meta"] = meta
            chunks.append(header_chunk(strict_json.dumps(head), compress_header))
        chunks += _chunks(b)
        chunks.append(Chunk("LEVL", _level_json(k, b if k else None, spec)))
    return pack(chunks, version=LAYERED_VERSION)
