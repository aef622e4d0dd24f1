"""``dquant`` (format 1.5): dependent (trellis-coded) quantization, ``w = float32(r) * step``.

HEAD keys and payload exactly as ``quant`` (``name shape dtype coding axis table``; ``f32 steps[k]`` then one
segment list of levels ``q``). The levels of each segment run through the 4-state machine of
:mod:`nwcodec.codings.dq_state` (state 0 at the segment's first level), which turns them into the
reconstruction integers ``r``; then ``w = float32(r) * step`` as in ``quant`` (FORMAT.md 6.16).
"""
from __future__ import annotations

import numpy as np

from . import register
from .base import DecodeSource, TensorPlan, WorkUnit, decode_segment_at, unit_segments
from .dq_state import reconstruct_int
from .quant import QuantCoding, step_index

MINOR = 5   # format minor version that introduced this coding


class DQuantCoding(QuantCoding):
    """Levels of two interleaved quantizers chosen by a parity-driven state machine."""

    name = "dquant"
    min_minor = MINOR

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        table = src.table(plan.entry["table"])
        steps, shape, axis = plan.fields["steps"], plan.entry["shape"], plan.entry["axis"]
        for s in unit_segments(plan, unit):
            r = reconstruct_int(decode_segment_at(plan, s, table))
            with np.errstate(over="ignore"):  # IEEE overflow to ±inf is the specified result
                w = np.multiply(r.astype(np.float32), steps[step_index(s.offset, s.count, shape, axis)],
                                dtype=np.float32)
                out[s.offset:s.offset + s.count] = w


DQUANT = register(DQuantCoding())
