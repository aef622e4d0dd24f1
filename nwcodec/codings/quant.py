"""``quant``: uniform scalar quantization, ``w = float32(q) * step`` (per tensor or per channel).

HEAD keys: ``name shape dtype coding axis table``; ``axis`` is null (one step) or an axis in
``[0, ndim)`` (one step per index along it). Payload after the index: ``f32 steps[k]`` (finite;
``k = shape[axis]`` or 1), then a segment list of ``numel`` integers under ``table``.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import register
from .base import (DecodeSource, TensorPlan, WorkUnit, decode_segment_at, header_int, read_finite_f32,
                   scan_segment_list, segment_units, unit_segments)


def step_index(offset: int, count: int, shape: tuple[int, ...], axis: int | None) -> np.ndarray | int:
    """Index into ``steps`` of flat (C-order) elements ``offset … offset+count-1``."""
    if axis is None:
        return 0
    inner = math.prod(shape[axis + 1:])
    return (np.arange(offset, offset + count, dtype=np.int64) // inner) % shape[axis]


def validate_table_axis(entry: dict, n_tables: int, where: str) -> None:
    """The ``table`` index and the optional per-channel ``axis`` of a quantized entry (6.2)."""
    name = entry["name"]
    header_int(entry["table"], f"table of {name!r}", 0, n_tables - 1)
    if entry["axis"] is not None:
        if not entry["shape"]:
            raise MalformedError(f"{where}: {name!r}: per-channel steps on a scalar")
        header_int(entry["axis"], f"axis of {name!r}", 0, len(entry["shape"]) - 1)


def plan_steps_levels(plan: TensorPlan, r: Reader) -> None:
    """Payload of a quantized tensor: its finite float32 steps, then one segment list of ``numel`` levels."""
    axis = plan.entry["axis"]
    k = plan.entry["shape"][axis] if axis is not None else 1
    plan.fields["steps"] = read_finite_f32(r, k, f"{plan.what}: step")
    plan.lists = [scan_segment_list(r, plan.numel, plan.what)]


class QuantCoding:
    """Integers times a float32 step."""

    name = "quant"
    keys = frozenset({"name", "shape", "dtype", "coding", "axis", "table"})
    float_only = True

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        validate_table_axis(entry, n_tables, "HEAD")

    def tables(self, entry: dict) -> list[int]:
        return [entry["table"]]

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        plan_steps_levels(plan, r)

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return segment_units(plan, max_elements)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        table = src.table(plan.entry["table"])
        steps, shape, axis = plan.fields["steps"], plan.entry["shape"], plan.entry["axis"]
        for s in unit_segments(plan, unit):
            q = decode_segment_at(plan, s, table)
            with np.errstate(over="ignore"):  # IEEE overflow to ±inf is the specified result
                w = np.multiply(q.astype(np.float32), steps[step_index(s.offset, s.count, shape, axis)],
                                dtype=np.float32)
                out[s.offset:s.offset + s.count] = w   # cast to the output dtype (float16: nearest even)


QUANT = register(QuantCoding())
