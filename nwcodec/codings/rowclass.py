"""``rowclass`` (format 1.5): quantized levels coded under per-row table classes (FORMAT.md 6.17).

HEAD keys: ``name shape dtype coding axis tables dq``. ``tables`` lists ``C`` table indices (1…16), one per
class; ``dq`` (bool) says whether the levels are ``dquant`` levels (6.16) or plain ``quant`` integers; ``axis``
places the steps as for ``quant``. Rows are the ``shape[0]`` slices along axis 0. Payload after the index:
``f32 steps[k]`` (finite), ``u8 class[shape[0]]`` (each ``< C``), then for each class ``c = 0…C-1`` a segment list
under ``tables[c]`` of the levels of that class's rows, in increasing row order, each row in C order. With
``dq`` the state machine runs over each class's segments (state 0 at every segment start).
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import register
from .base import (DecodeSource, TensorPlan, WorkUnit, decode_segment_at, header_int, read_finite_f32,
                   scan_segment_list, whole_unit)
from .dq_state import reconstruct_int
from .quant import step_index

MAX_CLASSES = 16


def class_rows(classes: np.ndarray, c: int) -> np.ndarray:
    """Rows of class ``c`` in increasing order."""
    return np.flatnonzero(classes == c)


class RowClassCoding:
    """Per-row table classes (side information: one byte per row)."""

    name = "rowclass"
    keys = frozenset({"name", "shape", "dtype", "coding", "axis", "tables", "dq"})
    float_only = True
    min_minor = 5

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name, shape = entry["name"], entry["shape"]
        if not shape:
            raise MalformedError(f"HEAD: {name!r}: rowclass needs at least one dimension")
        tabs = entry["tables"]
        if not isinstance(tabs, list) or not 1 <= len(tabs) <= MAX_CLASSES:
            raise MalformedError(f"HEAD: {name!r}: tables must list 1..{MAX_CLASSES} table indices")
        for k in tabs:
            header_int(k, f"table of {name!r}", 0, n_tables - 1)
        if not isinstance(entry["dq"], bool):
            raise MalformedError(f"HEAD: {name!r}: dq must be true or false")
        if entry["axis"] is not None:
            header_int(entry["axis"], f"axis of {name!r}", 0, len(shape) - 1)

    def tables(self, entry: dict) -> list[int]:
        return list(entry["tables"])

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        shape, axis = plan.entry["shape"], plan.entry["axis"]
        k = shape[axis] if axis is not None else 1
        plan.fields["steps"] = read_finite_f32(r, k, f"{plan.what}: step")
        classes = r.array("<u1", shape[0])
        n_cls = len(plan.entry["tables"])
        if classes.size and int(classes.max()) >= n_cls:
            raise MalformedError(f"{plan.what}: row class {int(classes.max())} of {n_cls} classes")
        plan.fields["classes"] = classes
        row = math.prod(shape[1:])
        counts = np.bincount(classes, minlength=n_cls)
        plan.lists = [scan_segment_list(r, int(counts[c]) * row, f"{plan.what} class {c}") for c in range(n_cls)]

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        shape, axis, classes = plan.entry["shape"], plan.entry["axis"], plan.fields["classes"]
        row = math.prod(shape[1:])
        r_all = np.empty((shape[0], row), dtype=np.int64)
        for c, k in enumerate(plan.entry["tables"]):
            q = _levels(plan, c, src.table(k))
            if plan.entry["dq"]:
                q = np.concatenate([reconstruct_int(q[s.offset:s.offset + s.count]) for s in plan.lists[c]])
            r_all[class_rows(classes, c)] = q.reshape(-1, row)
        steps = plan.fields["steps"][step_index(0, plan.numel, shape, axis)]
        with np.errstate(over="ignore"):
            out[:] = np.multiply(r_all.reshape(-1).astype(np.float32), steps, dtype=np.float32)


def _levels(plan: TensorPlan, c: int, table) -> np.ndarray:
    """All levels of class ``c`` (its segment list) as int64."""
    parts = [decode_segment_at(plan, s, table) for s in plan.lists[c]]
    return np.concatenate(parts).astype(np.int64)


ROWCLASS = register(RowClassCoding())
