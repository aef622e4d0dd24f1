"""``sparse`` (format 1.2): a few nonzero values at entropy-coded positions; the rest is +0.0.

HEAD keys: ``name shape dtype coding nnz gaps values``; ``0 <= nnz <= numel``; ``gaps`` a table
index; ``values`` a vector spec (:mod:`.floatvec`). Payload after the index: a segment list of
``nnz`` gaps ``g_i >= 0`` under ``gaps``, then the ``nnz`` values. Positions (C-order element
numbers) are ``p_0 = g_0``, ``p_i = p_{i-1} + 1 + g_i``; each must be ``< numel``.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import register
from .base import DecodeSource, TensorPlan, WorkUnit, header_int, scan_segment_list, whole_unit
from .floatvec import check_spec, int_list, plan_vector, spec_tables, vector


def positions(gaps: np.ndarray, numel: int, what: str) -> np.ndarray:
    """Element numbers from gaps (int64), checked to be ``>= 0`` and inside the tensor."""
    g = gaps.astype(np.int64)
    if g.size and int(g.min()) < 0:
        raise MalformedError(f"{what}: negative position gap")
    p = np.cumsum(g + 1) - 1
    if p.size and int(p[-1]) >= numel:
        raise MalformedError(f"{what}: position {int(p[-1])} outside the tensor ({numel} elements)")
    return p


class SparseCoding:
    """Positions as gaps + values; zeros elsewhere."""

    name = "sparse"
    keys = frozenset({"name", "shape", "dtype", "coding", "nnz", "gaps", "values"})
    float_only = True
    feature = "sparse"

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name = entry["name"]
        header_int(entry["nnz"], f"nnz of {name!r}", 0, math.prod(entry["shape"]))
        header_int(entry["gaps"], f"gaps table of {name!r}", 0, n_tables - 1)
        check_spec(entry["values"], f"values of {name!r}", n_tables)

    def tables(self, entry: dict) -> list[int]:
        return [entry["gaps"]] + spec_tables(entry["values"])

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        nnz = plan.entry["nnz"]
        plan.fields["gaps.list"] = np.array([len(plan.lists)], dtype=np.int64)
        plan.lists.append(scan_segment_list(r, nnz, f"{plan.what} gaps"))
        plan_vector(plan, r, "values", plan.entry["values"], nnz)

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        e = plan.entry
        gaps = int_list(plan, "gaps", src.table(e["gaps"]), e["nnz"])
        pos = positions(gaps, plan.numel, plan.what)
        vals = vector(plan, "values", e["values"], e["nnz"], src)
        out[:] = 0
        out[pos] = vals


SPARSE = register(SparseCoding())
