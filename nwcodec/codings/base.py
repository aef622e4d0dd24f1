"""The coding interface: how one ``TENS`` layout is declared, validated, planned and decoded.

Decoding is split into two steps so that serial and parallel decoding share one reader:

* **plan** (:meth:`Coding.plan`, run in the parent for every wanted tensor): reads the small
  fixed fields of a payload (steps, decoder params), walks its segment lists without decoding
  them and checks that nothing is left over. The result is a :class:`TensorPlan`.
* **decode** (:meth:`Coding.decode_unit`): decodes one :class:`WorkUnit` (a whole tensor, or a run
  of segments of one segment list) into its slice of a preallocated flat output. Units of one
  tensor write disjoint element ranges, so any split over processes gives the same bytes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..entropy.tables import FreqTable
from ..errors import LimitExceededError, MalformedError

Shape = tuple[int, ...]
MAX_SEGMENTS = 1 << 16
MAX_SEGMENT_SYMBOLS = 1 << 20
BYTE_COST = 4  # one coded byte costs about as much decode time as four symbols


@dataclass(frozen=True)
class SegmentRef:
    """One segment of a segment list: payload byte range, symbol count, first element it fills."""

    start: int
    end: int
    count: int
    offset: int


@dataclass
class TensorPlan:
    """One checked ``TENS`` payload: its header entry, small fields read, segment lists walked."""

    index: int
    entry: dict
    payload: memoryview
    fields: dict[str, np.ndarray] = field(default_factory=dict)
    lists: list[tuple[SegmentRef, ...]] = field(default_factory=list)
    data_offset: int = 0   # raw: where the element bytes start

    @property
    def numel(self) -> int:
        return math.prod(self.entry["shape"])

    @property
    def what(self) -> str:
        return f"TENS {self.entry['name']!r}"


@dataclass(frozen=True)
class WorkUnit:
    """A piece of decoding work: segments ``segments`` of list ``part`` of one tensor, or all of it."""

    tensor: int                               # the tensor's index in the stream
    part: int = 0                             # which segment list (a byte plane for ``bytes``)
    segments: tuple[SegmentRef, ...] | None = None   # None: the whole tensor in one go
    cost: int = 0


@runtime_checkable
class DecodeSource(Protocol):
    """What a coding may ask of the stream while decoding (tables, the base of a delta stream)."""

    def table(self, k: int) -> FreqTable: ...

    def base_latent(self, name: str, shape: Shape, what: str) -> tuple[str, dict[str, np.ndarray], np.ndarray]: ...


@runtime_checkable
class Coding(Protocol):
    """One ``TENS`` layout (registered in :mod:`nwcodec.codings` under ``name``)."""

    name: str                 # the HEAD "coding" string
    keys: frozenset[str]      # exactly the keys of a tensor entry with this coding
    float_only: bool          # needs a float dtype

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        """Parse time, on the header entry only (shape already a tuple); normalizes it in place."""

    def tables(self, entry: dict) -> list[int]:
        """``TABL`` indices the tensor uses."""

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        """Read the fields after the index into ``plan`` and walk its segment lists (no decoding)."""

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        """Split the tensor into units of at most about ``max_elements`` elements where possible."""

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        """Decode ``unit`` into ``out``, the tensor's flat (C-order) preallocated output."""


def header_int(v: Any, what: str, lo: int = 0, hi: int = 1 << 62) -> int:
    """A JSON integer (not bool, not float) in ``[lo, hi]``, else MalformedError."""
    if type(v) is not int or not lo <= v <= hi:
        raise MalformedError(f"HEAD: {what} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def header_shape(v: Any, what: str, limits: Limits) -> Shape:
    """A shape: at most ``max_ndim`` integer dims, at most ``max_elements`` elements."""
    if not isinstance(v, list):
        raise MalformedError(f"HEAD: {what} must be a list of integers")
    if len(v) > limits.max_ndim:
        raise LimitExceededError(f"HEAD: {what} has {len(v)} dims, limit {limits.max_ndim}")
    shape = tuple(header_int(d, what, 0, limits.max_elements) for d in v)
    if math.prod(shape) > limits.max_elements:
        raise LimitExceededError(f"HEAD: {what} has {math.prod(shape)} elements, limit {limits.max_elements}")
    return shape


def read_finite_f32(r: Reader, count: int, what: str) -> np.ndarray:
    """``count`` little-endian float32 values that must all be finite (MalformedError otherwise)."""
    a = r.array("<f4", count)
    if not np.isfinite(a).all():
        raise MalformedError(f"{what} is not finite (NaN or infinity)")
    return a


def scan_segment_list(r: Reader, numel: int, what: str) -> tuple[SegmentRef, ...]:
    """Walk a segment list without decoding it; checks counts and leaves ``r`` after the list."""
    n_seg = r.uvarint()
    if n_seg < 1 or n_seg > MAX_SEGMENTS:
        raise MalformedError(f"{what}: {n_seg} segments (1..{MAX_SEGMENTS} allowed)")
    out, have = [], 0
    for _ in range(n_seg):
        start = r.position
        n, n_words, n_esc = r.uvarint(), r.uvarint(), r.uvarint()
        if n > min(numel - have, MAX_SEGMENT_SYMBOLS):
            raise LimitExceededError(f"{what}: segment declares {n} symbols (tensor left {numel - have}, "
                                     f"segment limit {MAX_SEGMENT_SYMBOLS})")
        r.bytes(4 * n_words)
        r.bytes(n_esc)
        out.append(SegmentRef(start, r.position, n, have))
        have += n
    if have != numel:
        raise MalformedError(f"{what}: segments hold {have} values, the tensor has {numel}")
    return tuple(out)


def segment_units(plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
    """Runs of consecutive segments of each list, each of at most ``max_elements`` (≥ 1 segment)."""
    units = []
    for part, segs in enumerate(plan.lists):
        run: list[SegmentRef] = []
        size = 0
        for s in segs:
            if run and size + s.count > max_elements:
                units.append(_unit(plan.index, part, run))
                run, size = [], 0
            run.append(s)
            size += s.count
        if run:
            units.append(_unit(plan.index, part, run))
    return units


def _unit(tensor: int, part: int, run: list[SegmentRef]) -> WorkUnit:
    cost = sum(s.count + BYTE_COST * (s.end - s.start) for s in run)
    return WorkUnit(tensor, part, tuple(run), cost)


def whole_unit(plan: TensorPlan) -> list[WorkUnit]:
    """The tensor as one unit."""
    return [WorkUnit(plan.index, 0, None, plan.numel + BYTE_COST * len(plan.payload))]


def decode_segment_at(plan: TensorPlan, seg: SegmentRef, table: FreqTable) -> np.ndarray:
    """The ``seg.count`` int32 values of one segment of ``plan``'s payload."""
    from ..entropy.ans import decode_segment

    r = Reader(plan.payload[seg.start:seg.end], plan.what)
    q = decode_segment(r, table, seg.count, f"{plan.what} segment at {seg.start}")
    r.done()
    return q


def unit_segments(plan: TensorPlan, unit: WorkUnit) -> tuple[SegmentRef, ...]:
    """The segments a unit covers (all of its list for a whole-tensor unit)."""
    return plan.lists[unit.part] if unit.segments is None else unit.segments


def decode_list(plan: TensorPlan, part: int, table: FreqTable) -> np.ndarray:
    """A whole segment list as one int32 array of ``numel`` values."""
    q = np.empty(plan.numel, dtype=np.int32)
    for s in plan.lists[part]:
        q[s.offset:s.offset + s.count] = decode_segment_at(plan, s, table)
    return q
