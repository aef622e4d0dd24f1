"""``refine`` (format 1.4, layered streams only): a finer quantization of a tensor of an earlier level.

HEAD keys (in a ``LEVL`` chunk, never in ``HEAD``): ``name shape dtype coding axis factor table``.
Payload after the index: ``f32 steps[k]`` (finite; ``k = shape[axis]`` or 1), then a segment list of
``numel`` integer residuals ``r`` under ``table``. With ``Q`` the integers of the same tensor at the
previous level (from a ``quant`` or ``refine`` entry), the new integers are ``Q' = factor * Q + r``
(must fit int32) and the tensor is ``float32(Q') * step`` exactly as ``quant`` (FORMAT.md 6.6, 6.19).
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import register
from .base import DecodeSource, TensorPlan, WorkUnit, decode_list, header_int, whole_unit
from .quant import plan_steps_levels, step_index, validate_table_axis

MAX_FACTOR = 1 << 16
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def dequantize_into(q: np.ndarray, steps: np.ndarray, shape: tuple[int, ...], axis: int | None,
                    out: np.ndarray) -> None:
    """``out[:] = float32(q) * step`` (per tensor or along ``axis``), cast to ``out``'s dtype (6.6)."""
    with np.errstate(over="ignore"):  # IEEE overflow to ±inf is the specified result
        out[:] = np.multiply(q.astype(np.float32), steps[step_index(0, q.size, shape, axis)], dtype=np.float32)


def refined_integers(prev: np.ndarray, factor: int, residual: np.ndarray, what: str) -> np.ndarray:
    """``factor * prev + residual`` in int64, refused (MalformedError) when it leaves int32."""
    q = prev.astype(np.int64) * factor + residual.astype(np.int64)
    if q.size and (int(q.min()) < INT32_MIN or int(q.max()) > INT32_MAX):
        raise MalformedError(f"{what}: factor * previous integers + residual leaves int32")
    return q


class RefineCoding:
    """Residual integers on the previous level's integers, on a finer step."""

    name = "refine"
    keys = frozenset({"name", "shape", "dtype", "coding", "axis", "factor", "table"})
    float_only = True
    needs_level = True   # only in the LEVL chunk of a later level of a layered stream

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        header_int(entry["factor"], f"factor of {entry['name']!r}", 1, MAX_FACTOR)
        validate_table_axis(entry, n_tables, "LEVL")

    def tables(self, entry: dict) -> list[int]:
        return [entry["table"]]

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        plan_steps_levels(plan, r)

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def integers(self, plan: TensorPlan, src: DecodeSource, prev: np.ndarray) -> np.ndarray:
        """The tensor's integers at this level (int64, inside int32)."""
        residual = decode_list(plan, 0, src.table(plan.entry["table"]))
        return refined_integers(prev.reshape(-1), plan.entry["factor"], residual, plan.what)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        previous = getattr(src, "previous_integers", None)
        if previous is None:
            raise MalformedError(f"{plan.what}: refine tensor outside a layered stream")
        q = self.integers(plan, src, previous(plan.entry["name"], plan.what))
        dequantize_into(q, plan.fields["steps"], plan.entry["shape"], plan.entry["axis"], out)


REFINE = register(RefineCoding())
