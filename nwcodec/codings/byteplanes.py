"""``bytes``: lossless byte-plane coding of float tensors.

HEAD keys: ``name shape dtype coding tables``; ``tables`` holds one ``TABL`` index per byte of the
element (least significant first). Payload after the index: one segment list of ``numel``
values in 0…255 per plane. Plane ``p`` is byte ``p`` of each little-endian wire element.
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import register
from .base import (DecodeSource, TensorPlan, WorkUnit, decode_segment_at, header_int, scan_segment_list,
                   segment_units, unit_segments)
from .dtypes import ITEMSIZE, out_dtype


class BytePlaneCoding:
    """Bit-exact floats (NaN payloads included) as entropy-coded byte planes."""

    name = "bytes"
    keys = frozenset({"name", "shape", "dtype", "coding", "tables"})
    float_only = True

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name, tabs = entry["name"], entry["tables"]
        if not isinstance(tabs, list) or len(tabs) != ITEMSIZE[entry["dtype"]]:
            raise MalformedError(f"HEAD: {name!r}: bytes coding needs one table per byte plane")
        for k in tabs:
            header_int(k, f"byte-plane table of {name!r}", 0, n_tables - 1)

    def tables(self, entry: dict) -> list[int]:
        return list(entry["tables"])

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        plan.lists = [scan_segment_list(r, plan.numel, f"{plan.what} plane {p}")
                      for p in range(len(plan.entry["tables"]))]

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return segment_units(plan, max_elements)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        dtype = plan.entry["dtype"]
        table = src.table(plan.entry["tables"][unit.part])
        size = out_dtype(dtype).itemsize
        column = unit.part + (size - ITEMSIZE[dtype])   # bfloat16: the upper two bytes of a float32
        octets = out.view(np.uint8).reshape(-1, size)
        for s in unit_segments(plan, unit):
            q = decode_segment_at(plan, s, table)
            if q.size and (int(q.min()) < 0 or int(q.max()) > 255):
                raise MalformedError(f"{plan.what}: byte plane {unit.part} holds a value outside 0..255")
            octets[s.offset:s.offset + s.count, column] = q


BYTES = register(BytePlaneCoding())
