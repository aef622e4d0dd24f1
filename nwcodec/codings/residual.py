"""``residual`` (format 1.1): a latent stored as ``base latent + residual`` for delta streams.

HEAD keys: ``name shape dtype coding table``. Payload after the index: a segment list of
``numel`` integer residuals ``r``. The base stream (named by the ``BASE`` chunk) must hold a
``latent`` tensor of the same name and shape with decoder ``d``, params ``p`` and latent ``q_b``;
the tensor is ``synthesize(d, q_b + r, p)``, with ``q_b + r`` inside int32.
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import register
from .base import DecodeSource, TensorPlan, WorkUnit, decode_list, header_int, scan_segment_list, whole_unit
from .latent import synthesize_into


class ResidualCoding:
    """Integer residual on a base stream's latent."""

    name = "residual"
    keys = frozenset({"name", "shape", "dtype", "coding", "table"})
    float_only = True
    needs_base = True

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        header_int(entry["table"], f"table of {entry['name']!r}", 0, n_tables - 1)

    def tables(self, entry: dict) -> list[int]:
        return [entry["table"]]

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        plan.lists = [scan_segment_list(r, plan.numel, plan.what)]

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        decoder, params, base_q = src.base_latent(plan.entry["name"], plan.entry["shape"], plan.what)
        q = decode_list(plan, 0, src.table(plan.entry["table"])).astype(np.int64)
        q += base_q.reshape(-1).astype(np.int64)
        if q.size and (int(q.min()) < -(1 << 31) or int(q.max()) >= 1 << 31):
            raise MalformedError(f"{plan.what}: base latent + residual leaves int32")
        synthesize_into(decoder, q.astype(np.int32), params, out, plan)


RESIDUAL = register(ResidualCoding())
