"""Where things are inside a valid stream: float prefixes and segments of each ``TENS`` payload, fields of
each ``TABL`` payload (read from the header and FORMAT.md 6.3-6.5, so mutations can aim at them)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .container import read_uvarint

ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass
class Segment:
    start: int          # offset of n_symbols in the payload
    fields: list[tuple[int, int]]   # (start, end) of the three uvarints
    words: tuple[int, int]
    escapes: tuple[int, int]


@dataclass
class Payload:
    index: tuple[int, int]          # the leading uvarint
    floats: tuple[int, int] | None  # steps or params (f4 array)
    lists: list[tuple[int, list[Segment]]]   # (offset of n_segments, segments)


def _segment_list(d: bytes, pos: int) -> tuple[int, list[Segment], int]:
    start = pos
    n, pos = read_uvarint(d, pos)
    segs = []
    for _ in range(n):
        s0, fields = pos, []
        vals = []
        for _ in range(3):
            v, p2 = read_uvarint(d, pos)
            fields.append((pos, p2))
            vals.append(v)
            pos = p2
        words = (pos, pos + 4 * vals[1])
        esc = (words[1], words[1] + vals[2])
        pos = esc[1]
        segs.append(Segment(s0, fields, words, esc))
    return start, segs, pos


def payload_layout(entry: dict, d: bytes) -> Payload | None:
    """Layout of a valid TENS payload for its header entry (None if it cannot be walked)."""
    try:
        _, pos = read_uvarint(d, 0)
        index = (0, pos)
        coding = entry.get("coding")
        floats, lists = None, []
        if coding == "raw":
            return Payload(index, None, [])
        if coding == "quant":
            k = 1 if entry.get("axis") is None else entry["shape"][entry["axis"]]
            floats = (pos, pos + 4 * k)
            pos = floats[1]
            n_lists = 1
        elif coding == "latent":
            k = sum(math.prod(s) for s in entry["params"].values())
            floats = (pos, pos + 4 * k)
            pos = floats[1]
            n_lists = 1
        elif coding == "bytes":
            n_lists = ITEMSIZE.get(entry.get("dtype"), 4)
        elif coding == "residual":
            n_lists = 1
        else:
            return None
        for _ in range(n_lists):
            start, segs, pos = _segment_list(d, pos)
            lists.append((start, segs))
        return Payload(index, floats, lists)
    except (ValueError, KeyError, TypeError, IndexError):
        return None


@dataclass
class TableLayout:
    kind: int
    fields: list[tuple[int, int]]   # lo, n, escape_weight varints
    body: tuple[int, int]
    weights: list[tuple[int, int]]  # histogram weight varints (kind 0)


def table_layout(d: bytes) -> TableLayout | None:
    try:
        kind, pos, fields = d[0], 1, []
        vals = []
        for _ in range(3):
            v, p2 = read_uvarint(d, pos)
            fields.append((pos, p2))
            vals.append(v)
            pos = p2
        weights = []
        if kind == 0:
            p = pos
            for _ in range(vals[1]):
                _, p2 = read_uvarint(d, p)
                weights.append((p, p2))
                p = p2
        return TableLayout(kind, fields, (pos, len(d)), weights)
    except (ValueError, IndexError):
        return None
