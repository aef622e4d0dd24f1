"""Layered streams (format 1.4): decode the model at any level from a stream or a prefix of it.

Level 0 is an ordinary stream body (``HEAD BASE? TABL* TENS*``) closed by ``LEVL``; each later level
is ``TABL* TENS* LEVL`` whose ``LEVL`` JSON lists its tensor entries (``refine`` residuals on a finer
step, or any non-delta 1.x coding replacing the tensor). See FORMAT.md 6.19. Numpy + constriction only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..bitstream import DEFAULT_LIMITS, Limits, pack, strict_json
from ..bitstream.limits import table_work
from ..codings import get_coding
from ..codings.base import decode_list
from ..codings.dtypes import out_dtype
from ..codings.refine import REFINE, dequantize_into
from ..decoders.fp_env import check_subnormals
from ..entropy import FreqTable, read_description
from ..errors import IncompleteLevelError, InputError, LimitExceededError, MalformedError
from .decoder import FREE_ELEMENTS, MAX_SYMBOLS_PER_BYTE, ParsedStream, StreamSource, check_base, parse
from .header import validate_header
from .levels_frame import LEVEL_TYPE, NotLayeredError, Level, LayeredFrames, walk_levels
from .units import plan_tensors

CHAINED = ("quant", "refine")
LEVEL0_FORBIDDEN = ("tensors", "tables")


@dataclass
class LevelEntry:
    """One level after its checks: its ``LEVL`` JSON, tensor entries, tables, TENS payloads."""

    index: int
    info: dict
    tensors: list[dict]
    tables: list
    payloads: list[memoryview]
    start: int
    end: int
    _built: dict[int, FreqTable] = field(default_factory=dict)

    def table(self, k: int) -> FreqTable:
        if k not in self._built:
            self._built[k] = self.tables[k].table()
        return self._built[k]


@dataclass
class LayeredStream:
    """A checked layered stream or prefix: level 0 as a ParsedStream plus the later levels."""

    version: tuple[int, int]
    base: ParsedStream
    levels: list[LevelEntry]
    ending: str
    cut_at: int | None
    size: int


def _level_json(chunk_data: bytes, k: int, limits: Limits) -> dict:
    info = strict_json.loads(chunk_data, limits)
    if type(info.get("level")) is not int or info["level"] != k:
        raise MalformedError(f"LEVL #{k}: 'level' must be the integer {k}, got {info.get('level')!r}")
    metrics = info.get("metrics", {})
    if not isinstance(metrics, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in metrics.values()):
        raise MalformedError(f"LEVL #{k}: 'metrics' must be an object of numbers")
    return info


def _level0(lv: Level, version: tuple[int, int], limits: Limits) -> tuple[ParsedStream, dict]:
    body = [c for c in lv.chunks[:-1]]
    if any(c.type == LEVEL_TYPE for c in body):
        raise MalformedError("LEVL chunk inside level 0")
    ps = parse(pack(body, version=version), limits)
    ps.skipped = list(lv.skipped)
    info = _level_json(lv.chunks[-1].data, 0, limits)
    if any(k in info for k in LEVEL0_FORBIDDEN):
        raise MalformedError("LEVL #0 must not carry 'tensors' or 'tables' (HEAD holds level 0)")
    return ps, info


def _later_level(lv: Level, k: int, ps: ParsedStream, latest: dict[str, str], limits: Limits) -> LevelEntry:
    types = [c.type for c in lv.chunks if c.type[0].isupper()]
    n_tab, n_ten = types.count("TABL"), types.count("TENS")
    if types != ["TABL"] * n_tab + ["TENS"] * n_ten + [LEVEL_TYPE]:
        raise MalformedError(f"level {k}: chunks must be TABL*, TENS*, then LEVL")
    info = _level_json(lv.chunks[-1].data, k, limits)
    listed = info.get("tensors")
    if not isinstance(listed, list) or type(info.get("tables")) is not int:
        raise MalformedError(f"LEVL #{k}: needs 'tensors' (a list) and 'tables' (an integer)")
    if len(listed) <= limits.max_tensors and len(listed) != n_ten:
        raise MalformedError(f"LEVL #{k} lists {len(listed)} tensors, level has {n_ten} TENS chunks")
    entries = validate_header({"kind": ps.header["kind"], "tensors": listed, "tables": info["tables"]}, limits, n_tab)
    first = {t["name"]: t for t in ps.tensors}
    for t in entries:
        orig = first.get(t["name"])
        if orig is None:
            raise MalformedError(f"level {k}: tensor {t['name']!r} is not in level 0")
        if tuple(orig["shape"]) != tuple(t["shape"]) or orig["dtype"] != t["dtype"]:
            raise MalformedError(f"level {k}: tensor {t['name']!r} changes shape or dtype")
        coding = get_coding(t["coding"])
        if getattr(coding, "needs_base", False):
            raise MalformedError(f"level {k}: coding {t['coding']!r} is not allowed in a later level")
        if t["coding"] == "refine" and latest[t["name"]] not in CHAINED:
            raise MalformedError(f"level {k}: refine of {t['name']!r}, whose latest coding is "
                                 f"{latest[t['name']]!r} (needs quant or refine)")
        latest[t["name"]] = t["coding"]
    tables = [read_description(c.data, limits) for c in lv.chunks if c.type == "TABL"]
    payloads = [memoryview(c.data) for c in lv.chunks if c.type == "TENS"]
    return LevelEntry(k, info, entries, tables, payloads, lv.start, lv.end)


def parse_layered(data: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS,
                  stop_level: int | None = None) -> LayeredStream:
    """Check every complete level (up to ``stop_level``) of a layered stream or prefix; nothing decoded."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"expected bytes, got {type(data).__name__}")
    fr: LayeredFrames = walk_levels(data, limits, stop_level)
    if not fr.levels:
        raise IncompleteLevelError(f"the data ends at byte {fr.cut_at} inside level 0 (no complete level)", 0)
    ps, info0 = _level0(fr.levels[0], fr.version, limits)
    levels = [LevelEntry(0, info0, ps.tensors, ps.descriptions, ps.payloads, 0, fr.levels[0].end)]
    latest = {t["name"]: t["coding"] for t in ps.tensors}
    work = sum(table_work(d.n) for d in ps.descriptions)
    elements = sum(math.prod(t["shape"]) for t in ps.tensors)
    for k, lv in enumerate(fr.levels[1:], start=1):
        entry = _later_level(lv, k, ps, latest, limits)
        work += sum(table_work(d.n) for d in entry.tables)
        if work > limits.max_table_work:
            raise LimitExceededError(f"tables of levels 0..{k} need more than max_table_work={limits.max_table_work}")
        elements += sum(math.prod(t["shape"]) for t in entry.tensors)
        if elements > FREE_ELEMENTS + MAX_SYMBOLS_PER_BYTE * lv.end:
            raise LimitExceededError(f"levels 0..{k}: {elements} elements from {lv.end} bytes exceed the expansion limit")
        levels.append(entry)
    return LayeredStream(fr.version, ps, levels, fr.ending, fr.cut_at, len(data))


class LevelSource(StreamSource):
    """Tables of one level, the base of a delta level 0, and the integers of the level before."""

    def __init__(self, entry: LevelEntry, ps: ParsedStream, base: ParsedStream | None,
                 integers: dict[str, np.ndarray]) -> None:
        super().__init__(ps, base)
        self.entry, self.integers = entry, integers

    def table(self, k: int) -> FreqTable:
        return self.entry.table(k)

    def previous_integers(self, name: str, what: str) -> np.ndarray:
        if name not in self.integers:
            raise MalformedError(f"{what}: no quant or refine integers of {name!r} at the previous level")
        return self.integers[name]


def decode_layered(data: bytes | bytearray | memoryview, *, level: int | None = None,
                   names: list[str] | None = None, limits: Limits = DEFAULT_LIMITS,
                   base: bytes | bytearray | memoryview | None = None) -> dict[str, np.ndarray]:
    """The model at ``level`` (default: the whole stream, which must end at a level boundary or NEND).

    A prefix holding levels ``0..level`` decodes ``level`` exactly as the complete stream does; a
    prefix cut inside the wanted level raises :class:`~nwcodec.errors.IncompleteLevelError`.
    """
    if level is not None and (type(level) is not int or level < 0):
        raise InputError(f"level must be a non-negative integer, got {level!r}")
    try:
        ls = parse_layered(data, limits, level)
    except NotLayeredError:
        if level:
            raise
        from .decoder import decode

        return decode(data, names=names, limits=limits, base=base)
    if level is None and ls.ending == "cut":
        raise IncompleteLevelError(f"the stream ends at byte {ls.cut_at} inside level {len(ls.levels)}; levels "
                                   f"0..{len(ls.levels) - 1} are complete (pass level=)", len(ls.levels))
    want = len(ls.levels) - 1 if level is None else level
    if want >= len(ls.levels):
        if ls.ending != "nend":
            raise IncompleteLevelError(f"level {want} is not complete: the data ends at byte {ls.cut_at or ls.size}; levels "
                                       f"0..{len(ls.levels) - 1} are complete", len(ls.levels))
        raise InputError(f"the stream has {len(ls.levels)} levels, no level {want}")
    return decode_levels(ls, want, names, base, limits)


def decode_levels(ls: LayeredStream, want: int, names: list[str] | None, base, limits: Limits) -> dict[str, np.ndarray]:
    """Integers of quant/refine tensors carried level by level; every other tensor from its latest entry."""
    check_subnormals()
    ps = ls.base
    base_ps = check_base(ps, base, limits)
    order = [t["name"] for t in ps.tensors]
    wanted = set(order if names is None else names)
    missing = wanted - set(order)
    if missing:
        raise InputError(f"no tensor named {sorted(missing)[0]!r} in the stream")
    integers: dict[str, np.ndarray] = {}
    final: dict[str, tuple] = {}
    for entry in ls.levels[:want + 1]:
        plans = plan_tensors(entry.tensors, entry.payloads, list(range(len(entry.tensors))))
        src = LevelSource(entry, ps, base_ps, dict(integers))
        for plan in plans:
            name = plan.entry["name"]
            coding = plan.entry["coding"]
            if coding == "quant":
                integers[name] = decode_list(plan, 0, src.table(plan.entry["table"])).astype(np.int64)
            elif coding == "refine":
                integers[name] = REFINE.integers(plan, src, src.previous_integers(name, plan.what))
            else:
                integers.pop(name, None)
            final[name] = (plan, src)
    out = {}
    for name in order:
        if name not in wanted:
            continue
        plan, src = final[name]
        arr = np.zeros(plan.numel, dtype=out_dtype(plan.entry["dtype"]))
        if plan.entry["coding"] in CHAINED:
            dequantize_into(integers[name], plan.fields["steps"], plan.entry["shape"], plan.entry["axis"], arr)
        else:
            coding = get_coding(plan.entry["coding"])
            for u in coding.units(plan, math.inf):
                coding.decode_unit(plan, u, arr, src)
        out[name] = arr.reshape(plan.entry["shape"])
    return out
