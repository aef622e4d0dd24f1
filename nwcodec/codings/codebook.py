"""``codebook`` (format 1.2): weight sharing, ``w = C[g][q]``.

HEAD keys: ``name shape dtype coding axis size table cb``. ``axis`` null: one codebook of ``size``
entries for the whole tensor (shared by all channels); ``axis = a``: one codebook per index along
``a`` (``G = shape[a]``). ``G * size <= max(numel, 1)`` and ``1 <= size <= 65536``. ``cb`` is the
codebook's vector spec (:mod:`.floatvec`: null = raw f32, or a table index). Payload after the
index: the ``G * size`` codebook values (row ``g`` = codebook ``g``), then a segment list of
``numel`` indices ``q`` in ``[0, size)`` under ``table``.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import LimitExceededError, MalformedError
from . import register
from .base import DecodeSource, TensorPlan, WorkUnit, header_int, scan_segment_list, segment_units
from .base import decode_segment_at
from .floatvec import check_spec, in_range, plan_vector, spec_tables, vector
from .quant import step_index

MAX_SIZE = 1 << 16


def groups(entry: dict) -> int:
    return 1 if entry["axis"] is None else entry["shape"][entry["axis"]]


class CodebookCoding:
    """Indices into float32 codebooks (one per tensor, or one per channel)."""

    name = "codebook"
    keys = frozenset({"name", "shape", "dtype", "coding", "axis", "size", "table", "cb"})
    float_only = True
    feature = "codebook"

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name = entry["name"]
        header_int(entry["table"], f"table of {name!r}", 0, n_tables - 1)
        check_spec(entry["cb"], f"cb of {name!r}", n_tables)
        header_int(entry["size"], f"size of {name!r}", 1, MAX_SIZE)
        if entry["axis"] is not None:
            if not entry["shape"]:
                raise MalformedError(f"HEAD: {name!r}: per-channel codebooks on a scalar")
            header_int(entry["axis"], f"axis of {name!r}", 0, len(entry["shape"]) - 1)
        if groups(entry) * entry["size"] > max(math.prod(entry["shape"]), 1):
            raise LimitExceededError(f"HEAD: {name!r}: codebooks hold more values than the tensor")

    def tables(self, entry: dict) -> list[int]:
        return [entry["table"]] + spec_tables(entry["cb"])

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        e = plan.entry
        plan_vector(plan, r, "cb", e["cb"], groups(e) * e["size"])
        plan.fields["q.list"] = np.array([len(plan.lists)], dtype=np.int64)
        plan.lists.append(scan_segment_list(r, plan.numel, plan.what))

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        if len(plan.lists) > 1:   # a coded codebook is decoded with each unit; keep units whole-list
            return [u for u in segment_units(plan, max_elements) if u.part == int(plan.fields["q.list"][0])]
        return segment_units(plan, max_elements)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        e = plan.entry
        size, shape, axis = e["size"], e["shape"], e["axis"]
        cb = vector(plan, "cb", e["cb"], groups(e) * size, src)
        table = src.table(e["table"])
        part = int(plan.fields["q.list"][0])
        segs = plan.lists[part] if unit.segments is None else unit.segments
        for s in segs:
            q = decode_segment_at(plan, s, table)
            in_range(q, 0, size, f"{plan.what}: codebook index")
            g = step_index(s.offset, s.count, shape, axis)
            out[s.offset:s.offset + s.count] = cb[g * size + q]


CODEBOOK = register(CodebookCoding())
