"""Float32 vectors inside 1.2 payloads (codebook entries, sparse values, low-rank factors).

A vector spec in HEAD is ``null`` (``count`` raw finite ``f32``) or a ``TABL`` index ``t``
(a finite ``f32 step`` then a segment list of ``count`` integers under ``t``; value
``float32(q) * step``). Planning reads the raw floats or the step and walks the list.
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader
from ..errors import MalformedError
from .base import TensorPlan, decode_segment_at, header_int, read_finite_f32, scan_segment_list


def check_spec(v: object, what: str, n_tables: int) -> None:
    """``null`` or a table index."""
    if v is not None:
        header_int(v, what, 0, n_tables - 1)


def spec_tables(v: object) -> list[int]:
    return [] if v is None else [v]  # type: ignore[list-item]


def plan_vector(plan: TensorPlan, r: Reader, key: str, spec: object, count: int) -> None:
    """Read vector ``key``: raw floats into ``fields[key]``, or step into ``fields[key+'.step']`` and its
    segment list (its index among ``plan.lists`` in ``fields[key+'.list']``)."""
    if spec is None:
        plan.fields[key] = read_finite_f32(r, count, f"{plan.what}: {key}")
        return
    plan.fields[key + ".step"] = read_finite_f32(r, 1, f"{plan.what}: {key} step")
    plan.fields[key + ".list"] = np.array([len(plan.lists)], dtype=np.int64)
    plan.lists.append(scan_segment_list(r, count, f"{plan.what} {key}"))


def int_list(plan: TensorPlan, key: str, table, count: int) -> np.ndarray:
    """The integers of segment list ``fields[key+'.list']`` (``count`` of them) as int32."""
    q = np.empty(count, dtype=np.int32)
    for s in plan.lists[int(plan.fields[key + ".list"][0])]:
        q[s.offset:s.offset + s.count] = decode_segment_at(plan, s, table)
    return q


def vector(plan: TensorPlan, key: str, spec: object, count: int, src) -> np.ndarray:
    """The decoded float32 vector ``key`` (``float32(q) * step`` for a coded one)."""
    if spec is None:
        return plan.fields[key]
    q = int_list(plan, key, src.table(spec), count)
    with np.errstate(over="ignore"):
        return np.multiply(q.astype(np.float32), plan.fields[key + ".step"][0], dtype=np.float32)


def in_range(q: np.ndarray, lo: int, hi: int, what: str) -> None:
    """MalformedError unless every value of ``q`` lies in ``[lo, hi)``."""
    if q.size and (int(q.min()) < lo or int(q.max()) >= hi):
        raise MalformedError(f"{what}: value outside [{lo}, {hi})")
