"""``sum`` (format 1.2): a tensor as the float32 sum of separately coded parts.

HEAD keys: ``name shape dtype coding parts``; ``parts`` is a list of 1 … 8 objects, each with a
``coding`` among :data:`PART_CODINGS` and exactly that coding's keys other than ``name shape
dtype`` (checked as that coding would check a float32 tensor of the same shape). Payload after
the index: each part's payload (without an index) in list order. The tensor is ``acc = part_0``;
``acc = fl(acc + part_i)`` for ``i = 1, 2, …`` in float32, then cast to ``dtype``.
"""
from __future__ import annotations

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import MalformedError
from . import get_coding, register
from .base import DecodeSource, TensorPlan, WorkUnit, whole_unit

PART_CODINGS = ("quant", "codebook", "sparse", "lowrank")
MAX_PARTS = 8
_OWN = frozenset({"name", "shape", "dtype"})


def part_entry(entry: dict, i: int, part: dict) -> dict:
    """Part ``i`` as a float32 tensor entry of the same shape."""
    return dict(part, name=f"{entry['name']}[part {i}]", shape=entry["shape"], dtype="float32")


class SumCoding:
    """quant / codebook / sparse / low-rank parts added in a fixed order."""

    name = "sum"
    keys = frozenset({"name", "shape", "dtype", "coding", "parts"})
    float_only = True
    feature = "sum"

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name, parts = entry["name"], entry["parts"]
        if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_PARTS:
            raise MalformedError(f"HEAD: {name!r}: parts must be a list of 1..{MAX_PARTS} objects")
        checked = []
        for i, p in enumerate(parts):
            if not isinstance(p, dict) or p.get("coding") not in PART_CODINGS:
                raise MalformedError(f"HEAD: {name!r}: part {i} must be an object with a coding among "
                                     f"{', '.join(PART_CODINGS)}")
            coding = get_coding(p["coding"])
            if set(p) != coding.keys - _OWN:
                raise MalformedError(f"HEAD: {name!r}: part {i} keys {sorted(p)} != {sorted(coding.keys - _OWN)}")
            sub = part_entry(entry, i, p)
            coding.validate(sub, n_tables, limits)
            checked.append({k: v for k, v in sub.items() if k not in _OWN})
        entry["parts"] = checked

    def features(self, entry: dict) -> set[str]:
        return {"sum"} | {getattr(get_coding(p["coding"]), "feature", "") for p in entry["parts"]} - {""}

    def tables(self, entry: dict) -> list[int]:
        return [k for i, p in enumerate(entry["parts"]) for k in get_coding(p["coding"]).tables(p)]

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        subs = []
        for i, p in enumerate(plan.entry["parts"]):
            sub = TensorPlan(plan.index, part_entry(plan.entry, i, p), plan.payload)
            get_coding(p["coding"]).plan(sub, r)
            subs.append(sub)
        plan.fields = {}
        plan.parts = subs   # type: ignore[attr-defined]

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        acc = None
        for sub in plan.parts:   # type: ignore[attr-defined]
            part = np.zeros(plan.numel, dtype=np.float32)
            get_coding(sub.entry["coding"]).decode_unit(sub, WorkUnit(plan.index), part, src)
            if acc is None:
                acc = part
            else:
                with np.errstate(over="ignore", invalid="ignore"):
                    acc += part
        out[:] = acc


SUM = register(SumCoding())
