"""Decoding as work units: one planning step, one runner, shared by serial and parallel decoding.

:func:`plan_tensors` checks every wanted ``TENS`` payload (index = position, the coding's fields,
segment lists walked, no trailing bytes) before anything is decoded. :func:`work_units` cuts the
plans into units; :func:`run_units` decodes units into preallocated flat outputs. Serial decoding
runs all units in-process; :mod:`nwcodec.codec.parallel` runs the same units on forked workers.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..codings import TensorPlan, WorkUnit, get_coding
from ..codings.base import DecodeSource
from ..codings.dtypes import out_dtype
from ..errors import MalformedError


def plan_tensor(entry: dict, index: int, payload: memoryview) -> TensorPlan:
    """Check one ``TENS`` payload without decoding it."""
    plan = TensorPlan(index, entry, payload)
    r = Reader(payload, plan.what)
    if r.uvarint() != index:
        raise MalformedError(f"{plan.what}: payload index does not match its position")
    get_coding(entry["coding"]).plan(plan, r)
    r.done()
    return plan


def plan_tensors(entries: list[dict], payloads: list[memoryview], wanted: list[int]) -> list[TensorPlan]:
    """Plans of tensors ``wanted``, in that order."""
    return [plan_tensor(entries[i], i, payloads[i]) for i in wanted]


def work_units(plans: list[TensorPlan], max_elements: int) -> list[WorkUnit]:
    """All units of ``plans`` (units of at most about ``max_elements`` where a coding can split)."""
    return [u for p in plans for u in get_coding(p.entry["coding"]).units(p, max_elements)]


def allocate(plan: TensorPlan) -> np.ndarray:
    """A zeroed flat output for ``plan`` (zero pages cost nothing until written)."""
    return np.zeros(plan.numel, dtype=out_dtype(plan.entry["dtype"]))


def run_units(plans: dict[int, TensorPlan], units: list[WorkUnit], outputs: dict[int, np.ndarray],
              src: DecodeSource) -> None:
    """Decode ``units`` into ``outputs[tensor]`` (flat, zeroed, ``out_dtype``)."""
    for u in units:
        plan = plans[u.tensor]
        get_coding(plan.entry["coding"]).decode_unit(plan, u, outputs[u.tensor], src)


def decode_serial(plans: list[TensorPlan], src: DecodeSource) -> dict[str, np.ndarray]:
    """Decode planned tensors in this process: ``{name: array}`` in plan order."""
    by_index = {p.index: p for p in plans}
    outputs = {p.index: allocate(p) for p in plans}
    run_units(by_index, work_units(plans, math.inf), outputs, src)  # type: ignore[arg-type]
    return {p.entry["name"]: outputs[p.index].reshape(p.entry["shape"]) for p in plans}
