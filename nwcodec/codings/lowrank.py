"""``lowrank`` (format 1.2): ``w = U·Vᵀ`` with coded factors, in a fixed float32 order.

HEAD keys: ``name shape dtype coding rank u v``; ``ndim >= 1``; the tensor is read as a matrix
``m × n`` with ``m = shape[0]``, ``n = prod(shape[1:])``; ``1 <= rank <= min(m, n)``. ``u``, ``v``
are vector specs (:mod:`.floatvec`). Payload after the index: ``U`` (``m × rank``, C order), then
``V`` (``n × rank``). Reconstruction (FORMAT.md 6.18): ``acc = +0.0``; for ``k = 0 … rank-1``
ascending, ``acc[i, j] = fl(acc[i, j] + fl(U[i, k] * V[j, k]))`` in float32, no fused operations.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..errors import LimitExceededError, MalformedError
from . import register
from .base import DecodeSource, TensorPlan, WorkUnit, header_int, whole_unit
from .floatvec import check_spec, plan_vector, spec_tables, vector

MAX_RANK_WORK = 1 << 34   # rank × numel multiply-adds a receiver is asked to do for one tensor (part)


def matrix_dims(shape: tuple[int, ...]) -> tuple[int, int]:
    return shape[0], math.prod(shape[1:])


def reconstruct(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The fixed-order float32 sum of rank-one products (``u``: m × r, ``v``: n × r)."""
    acc = np.zeros((u.shape[0], v.shape[0]), dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(u.shape[1]):
            acc += np.multiply(u[:, k, None], v[None, :, k], dtype=np.float32)
    return acc


class LowRankCoding:
    """A product of two coded factors."""

    name = "lowrank"
    keys = frozenset({"name", "shape", "dtype", "coding", "rank", "u", "v"})
    float_only = True
    feature = "lowrank"

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name, shape = entry["name"], entry["shape"]
        if not shape:
            raise MalformedError(f"HEAD: {name!r}: low rank needs at least one dimension")
        m, n = matrix_dims(shape)
        header_int(entry["rank"], f"rank of {name!r}", 1, max(1, min(m, n)))
        if min(m, n) == 0:
            raise MalformedError(f"HEAD: {name!r}: low rank of an empty tensor")
        if entry["rank"] * m * n > MAX_RANK_WORK:
            raise LimitExceededError(f"HEAD: {name!r}: rank {entry['rank']} × {m * n} elements exceeds the "
                                     f"reduction limit {MAX_RANK_WORK}")
        check_spec(entry["u"], f"u of {name!r}", n_tables)
        check_spec(entry["v"], f"v of {name!r}", n_tables)

    def tables(self, entry: dict) -> list[int]:
        return spec_tables(entry["u"]) + spec_tables(entry["v"])

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        m, n = matrix_dims(plan.entry["shape"])
        k = plan.entry["rank"]
        plan_vector(plan, r, "u", plan.entry["u"], m * k)
        plan_vector(plan, r, "v", plan.entry["v"], n * k)

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        e = plan.entry
        m, n = matrix_dims(e["shape"])
        k = e["rank"]
        u = vector(plan, "u", e["u"], m * k, src).reshape(m, k)
        v = vector(plan, "v", e["v"], n * k, src).reshape(n, k)
        out[:] = reconstruct(u, v).reshape(-1)


LOWRANK = register(LowRankCoding())
