"""Measure how many single-bit flips in segment words the end rule misses (FORMAT.md 6.4.1).

``python -m tests.independent.flip_rates [MAX_WORDS]``: for every segment of every committed vector, flip
each bit of (at most ``MAX_WORDS``, default 40, evenly spread) words, as if the CRC had been repaired, and
count the flips that pass rule 1 alone and rules 1 + 2, split by tables with ``f_0 = 1`` and the others.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from . import rans, segments
from .decode import stream_info
from .errors import DecodeError
from .reader import Reader

ROOT = Path(__file__).resolve().parents[2]


def _segments(info: dict):
    """``(table, segment bytes, symbols the tensor still expects)`` for every segment."""
    for t, payload in zip(info["tensors"], info["payloads"]):
        coding, numel = t["coding"], math.prod(t["shape"])
        r = Reader(payload, "TENS")
        r.uvarint()
        if coding == "raw":
            continue
        if coding == "quant":
            r.take(4 * (1 if t["axis"] is None else t["shape"][t["axis"]]))
        if coding == "latent":
            r.take(4 * sum(math.prod(s) for s in t["params"].values()))
        for k in t["tables"] if coding == "bytes" else [t["table"]]:
            left = numel
            for _ in range(r.uvarint()):
                start = r.pos
                n, nw, ne = r.uvarint(), r.uvarint(), r.uvarint()
                r.take(4 * nw + ne)
                yield info["tables"][k], r.data[start:r.pos], left
                left -= n


def _passes_rule1(seg: bytes, table, left: int) -> bool:
    r = Reader(seg, "s")
    n, nw, ne = r.uvarint(), r.uvarint(), r.uvarint()
    words = r.array("<u4", nw)
    if words[-1] == 0:
        return False
    idx, state, pos = rans.decode(words, n, table.freqs, table.cum, table.buckets())
    esc = Reader(r.take(ne), "e")
    try:
        count = 0
        while esc.left():
            esc.svarint()
            count += 1
    except DecodeError:
        return False
    return state == 0 and pos == 0 and count == int((idx == table.n).sum())


def main(max_words: int = 40) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = {}
    for path in sorted((ROOT / "bitstreams").glob("**/*.nwc")):
        for table, seg, left in _segments(stream_info(path.read_bytes())):
            r = Reader(seg, "s")
            r.uvarint()
            nw = r.uvarint()
            r.uvarint()
            hdr = r.pos
            if nw == 0:
                continue
            row = totals.setdefault("f_0 = 1" if table.freqs[0] == 1 else "f_0 > 1", [0, 0, 0])
            for pos in sorted(set(np.linspace(0, nw - 1, min(nw, max_words)).astype(int).tolist())):
                for bit in range(32):
                    bad = bytearray(seg)
                    bad[hdr + 4 * pos + bit // 8] ^= 1 << (bit % 8)
                    bad = bytes(bad)
                    row[0] += 1
                    row[1] += _passes_rule1(bad, table, left)
                    try:
                        segments.read_segment(Reader(bad, "s"), table, left)
                        row[2] += 1
                    except DecodeError:
                        pass
    for key, (flips, rule1, both) in totals.items():
        print(f"{key}: {flips} flips, pass rule 1 alone {rule1} ({rule1 / flips:.2%}), "
              f"pass rules 1 + 2 {both} ({both / flips:.2%})")
    return totals


if __name__ == "__main__":
    main(*map(int, sys.argv[1:]))
