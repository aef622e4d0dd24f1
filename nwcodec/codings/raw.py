"""``raw``: the little-endian element bytes (bfloat16 as its upper 16 bits; bool one byte 0/1).

HEAD keys: ``name shape dtype coding``. Payload after the index: ``numel`` wire elements.
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from . import register
from .base import DecodeSource, SegmentRef, TensorPlan, WorkUnit, segment_units
from .dtypes import RAW_WIRE, from_wire

RUN_ELEMENTS = 1 << 20  # raw tensors are planned as runs of this many elements


class RawCoding:
    """Uncompressed elements, any dtype."""

    name = "raw"
    keys = frozenset({"name", "shape", "dtype", "coding"})
    float_only = False

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        return None

    def tables(self, entry: dict) -> list[int]:
        return []

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        size = np.dtype(RAW_WIRE[plan.entry["dtype"]]).itemsize
        start = r.position
        r.bytes(size * plan.numel)
        runs = []
        for off in range(0, plan.numel, RUN_ELEMENTS):
            n = min(RUN_ELEMENTS, plan.numel - off)
            runs.append(SegmentRef(start + off * size, start + (off + n) * size, n, off))
        plan.data_offset = start
        plan.lists = [tuple(runs)]

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return segment_units(plan, max_elements) or [WorkUnit(plan.index)]

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        wire = RAW_WIRE[plan.entry["dtype"]]
        for s in plan.lists[0] if unit.segments is None else unit.segments:
            buf = np.frombuffer(plan.payload[s.start:s.end], dtype=wire, count=s.count)
            from_wire(buf, plan.entry["dtype"], out[s.offset:s.offset + s.count])


RAW = register(RawCoding())
