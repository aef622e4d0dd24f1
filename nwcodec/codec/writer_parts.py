"""Parts a :class:`~nwcodec.codec.writer.StreamWriter` codes: quant, codebook, sparse, low rank.

Each part holds integers and float32 values exactly as the receiver will read them, adds its
tables to the stream, gives its header fields and writes its payload; :meth:`dense` is the float32
tensor the receiver reconstructs (the same operations as :mod:`nwcodec.codings`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..bitstream.binary import Writer
from ..codings.lowrank import reconstruct
from ..codings.quant import step_index
from ..entropy import choose_table
from .payloads import write_segments


class Tables(Protocol):
    """What a part needs of the stream being built."""

    segment_size: int
    max_alphabet: int

    def add_table(self, d) -> int: ...

    def freq_table(self, k: int): ...


def f32(x) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


@dataclass
class FloatVec:
    """A float32 vector, raw (``q is None``) or ``float32(q) * step``."""

    values: np.ndarray                 # the decoded float32 values (flat)
    q: np.ndarray | None = None
    step: float = 0.0
    _table: int | None = None

    @classmethod
    def raw(cls, v) -> "FloatVec":
        return cls(f32(v).ravel())

    @classmethod
    def quantized(cls, v, step: float) -> "FloatVec":
        s = np.float32(step)
        if not (np.isfinite(s) and s > 0):
            raise ValueError(f"step must be positive and finite, got {step!r}")
        q = np.rint(f32(v).ravel() / s).astype(np.int64)
        return cls.from_ints(q, float(s))

    @classmethod
    def from_ints(cls, q, step: float) -> "FloatVec":
        q = np.asarray(q, dtype=np.int64).ravel()
        return cls(np.multiply(q.astype(np.float32), np.float32(step), dtype=np.float32), q, float(np.float32(step)))

    def spec(self, t: Tables) -> int | None:
        if self.q is None:
            return None
        self._table = t.add_table(choose_table(self.q, max_alphabet=t.max_alphabet))
        return self._table

    def write(self, w: Writer, t: Tables) -> None:
        if self.q is None:
            w.array(self.values, "<f4")
        else:
            w.array(np.array([self.step], np.float32), "<f4")
            write_segments(w, self.q, t.freq_table(self._table), t.segment_size)


class QuantPart:
    """``float32(q) * step`` with one step or one per index along ``axis``."""

    coding = "quant"

    def __init__(self, q, steps, axis: int | None = None) -> None:
        self.q = np.asarray(q, dtype=np.int64)
        self.steps = f32(steps).ravel()
        self.axis = axis
        self._table = 0

    @classmethod
    def from_float(cls, w, step: float) -> "QuantPart":
        s = np.float32(step)
        return cls(np.rint(f32(w) / s), [s])

    def fields(self, t: Tables) -> dict:
        self._table = t.add_table(choose_table(self.q, max_alphabet=t.max_alphabet))
        return {"coding": "quant", "axis": self.axis, "table": self._table}

    def write(self, w: Writer, t: Tables) -> None:
        w.array(self.steps, "<f4")
        write_segments(w, self.q, t.freq_table(self._table), t.segment_size)

    def dense(self, shape: tuple[int, ...]) -> np.ndarray:
        idx = step_index(0, math.prod(shape), shape, self.axis)
        return np.multiply(self.q.ravel().astype(np.float32), self.steps[idx], dtype=np.float32).reshape(shape)


class CodebookPart:
    """``C[g][q]``: ``codebook`` is ``G × size`` (a :class:`FloatVec` or float array, raw)."""

    coding = "codebook"

    def __init__(self, indices, codebook, axis: int | None = None) -> None:
        self.q = np.asarray(indices, dtype=np.int64)
        self.cb = codebook if isinstance(codebook, FloatVec) else FloatVec.raw(codebook)
        self.axis = axis
        g = 1 if axis is None else self.q.shape[axis]
        if self.cb.values.size % g:
            raise ValueError("codebook size is not a multiple of the number of groups")
        self.size = self.cb.values.size // g
        if self.q.size and (self.q.min() < 0 or self.q.max() >= self.size):
            raise ValueError("codebook index out of range")
        self._table = 0

    def fields(self, t: Tables) -> dict:
        self._table = t.add_table(choose_table(self.q, max_alphabet=t.max_alphabet))
        return {"coding": "codebook", "axis": self.axis, "size": self.size, "table": self._table,
                "cb": self.cb.spec(t)}

    def write(self, w: Writer, t: Tables) -> None:
        self.cb.write(w, t)
        write_segments(w, self.q, t.freq_table(self._table), t.segment_size)

    def dense(self, shape: tuple[int, ...]) -> np.ndarray:
        g = step_index(0, math.prod(shape), shape, self.axis)
        return self.cb.values[g * self.size + self.q.ravel()].reshape(shape)


class SparsePart:
    """Values at sorted flat positions, zeros elsewhere."""

    coding = "sparse"

    def __init__(self, positions, values: FloatVec, numel: int) -> None:
        self.pos = np.asarray(positions, dtype=np.int64).ravel()
        if self.pos.size and (np.any(np.diff(self.pos) <= 0) or self.pos[0] < 0 or self.pos[-1] >= numel):
            raise ValueError("positions must be strictly increasing and inside the tensor")
        if values.values.size != self.pos.size:
            raise ValueError("one value per position")
        self.values = values
        self._table = 0

    @classmethod
    def from_dense(cls, w, step: float | None = None) -> "SparsePart":
        flat = f32(w).ravel()
        pos = np.flatnonzero(flat)
        vals = FloatVec.raw(flat[pos]) if step is None else FloatVec.quantized(flat[pos], step)
        return cls(pos, vals, flat.size)

    def gaps(self) -> np.ndarray:
        return np.diff(self.pos, prepend=-1) - 1

    def fields(self, t: Tables) -> dict:
        self._table = t.add_table(choose_table(self.gaps(), max_alphabet=t.max_alphabet))
        return {"coding": "sparse", "nnz": int(self.pos.size), "gaps": self._table, "values": self.values.spec(t)}

    def write(self, w: Writer, t: Tables) -> None:
        write_segments(w, self.gaps(), t.freq_table(self._table), t.segment_size)
        self.values.write(w, t)

    def dense(self, shape: tuple[int, ...]) -> np.ndarray:
        out = np.zeros(math.prod(shape), np.float32)
        out[self.pos] = self.values.values
        return out.reshape(shape)


class LowRankPart:
    """``U·Vᵀ`` (``U``: m × r, ``V``: n × r, each a :class:`FloatVec` of that many values)."""

    coding = "lowrank"

    def __init__(self, u: FloatVec, v: FloatVec, m: int, n: int, rank: int) -> None:
        if u.values.size != m * rank or v.values.size != n * rank:
            raise ValueError("factor sizes do not match m × rank and n × rank")
        self.u, self.v, self.m, self.n, self.rank = u, v, m, n, rank

    @classmethod
    def from_factors(cls, u, v, step_u: float | None = None, step_v: float | None = None) -> "LowRankPart":
        u, v = f32(u), f32(v)
        fu = FloatVec.raw(u) if step_u is None else FloatVec.quantized(u, step_u)
        fv = FloatVec.raw(v) if step_v is None else FloatVec.quantized(v, step_v)
        return cls(fu, fv, u.shape[0], v.shape[0], u.shape[1])

    def fields(self, t: Tables) -> dict:
        return {"coding": "lowrank", "rank": self.rank, "u": self.u.spec(t), "v": self.v.spec(t)}

    def write(self, w: Writer, t: Tables) -> None:
        self.u.write(w, t)
        self.v.write(w, t)

    def dense(self, shape: tuple[int, ...]) -> np.ndarray:
        return reconstruct(self.u.values.reshape(self.m, self.rank),
                           self.v.values.reshape(self.n, self.rank)).reshape(shape)


Part = QuantPart | CodebookPart | SparsePart | LowRankPart


def dense_sum(parts: list, shape: tuple[int, ...]) -> np.ndarray:
    """What the receiver reconstructs from ``parts`` (float32, fixed order)."""
    acc = parts[0].dense(shape).astype(np.float32, copy=True)
    for p in parts[1:]:
        acc += p.dense(shape)
    return acc
