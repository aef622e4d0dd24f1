"""Multi-process decoding: constriction holds the GIL, so parallel decoding needs processes.

Work is split into units (whole tensors, or runs of segments of a large quantized tensor),
balanced by element count over forked workers that write straight into one shared anonymous
mapping; the parent does one share itself. Errors in a worker come back with their class.
"""
from __future__ import annotations

import math
import mmap
import multiprocessing as mp
import os
from dataclasses import dataclass

import numpy as np

from .. import errors
from ..bitstream.binary import Reader
from ..entropy import decode_segment
from .decoder import ParsedStream, _cast, decode_entry
from .payloads import scan_segments

SPLIT_MIN_ELEMENTS = 1 << 21
BYTE_COST = 4  # one coded byte costs about as much decode time as four symbols


@dataclass
class _Unit:
    tensor: int
    cost: int
    segments: list[tuple[int, int, int]] | None = None  # (payload offset, n_symbols, element offset)


def _out_dtype(t: dict) -> np.dtype:
    """The decoded array's dtype (bfloat16 decodes to float32, whatever the coding)."""
    return np.dtype(np.float32 if t["dtype"] == "bfloat16" else t["dtype"])


def _cost(n_symbols: int, n_bytes: int) -> int:
    """Decode-time model: ANS work grows with the symbols and with the coded bits."""
    return n_symbols + BYTE_COST * n_bytes


def _plan(ps: ParsedStream, indices: list[int], workers: int) -> list[_Unit]:
    units = []
    for i in indices:
        t = ps.tensors[i]
        n = math.prod(t["shape"])
        if t["coding"] != "quant" or n < SPLIT_MIN_ELEMENTS:
            units.append(_Unit(i, _cost(n, len(ps.payloads[i]))))
            continue
        r = Reader(ps.payloads[i], f"TENS {t['name']!r}")
        r.uvarint()
        r.bytes(4 * (t["shape"][t["axis"]] if t["axis"] is not None else 1))
        segs, off = [], 0
        for start, count in scan_segments(r, n, f"TENS {t['name']!r}"):
            segs.append((start, count, off))
            off += count
        ends = [s[0] for s in segs[1:]] + [r.position]
        costs = [_cost(s[1], end - s[0]) for s, end in zip(segs, ends)]
        per = max(1, math.ceil(len(segs) / (2 * workers)))
        units += [_Unit(i, sum(costs[k:k + per]), segs[k:k + per]) for k in range(0, len(segs), per)]
    return units


def _run(ps: ParsedStream, units: list[_Unit], buf: mmap.mmap, offsets: dict[int, int]) -> None:
    for u in units:
        t = ps.tensors[u.tensor]
        dt = _out_dtype(t)
        n = math.prod(t["shape"])
        out = np.frombuffer(buf, dtype=dt, count=n, offset=offsets[u.tensor])
        if u.segments is None:
            out[:] = decode_entry(ps, u.tensor).ravel()
            continue
        r = Reader(ps.payloads[u.tensor], f"TENS {t['name']!r}")
        r.uvarint()
        k = t["shape"][t["axis"]] if t["axis"] is not None else 1
        steps = r.array("<f4", k)
        inner = n // k if k else 1
        table = ps.table(t["table"])
        for start, count, off in u.segments:
            sr = Reader(ps.payloads[u.tensor][start:], f"TENS {t['name']!r}")
            q = decode_segment(sr, table, count, f"TENS {t['name']!r} segment")
            s = steps[0] if k == 1 else steps[(off + np.arange(count)) // inner]
            out[off:off + count] = _cast(q.astype(np.float32) * s, t["dtype"])


def _child(ps, units, buf, offsets, conn) -> None:
    try:
        _run(ps, units, buf, offsets)
        conn.send(None)
    except errors.NwcodecError as exc:
        conn.send((type(exc).__name__, str(exc)))
    except Exception as exc:  # anything else is reported as corrupt data, with its text
        conn.send(("MalformedError", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
        os._exit(0)


def decode_parallel(ps: ParsedStream, indices: list[int], workers: int) -> dict[str, np.ndarray]:
    """Decode tensors ``indices`` of ``ps`` on ``workers`` processes (fork); same output as serial."""
    units = sorted(_plan(ps, indices, workers), key=lambda u: -u.cost)
    shares: list[list[_Unit]] = [[] for _ in range(workers)]
    load = [0] * workers
    for u in units:  # longest-processing-time-first balancing
        w = int(np.argmin(load))
        shares[w].append(u)
        load[w] += u.cost
    offsets, total = {}, 0
    for i in indices:
        offsets[i] = total
        total += -(-math.prod(ps.tensors[i]["shape"]) * _out_dtype(ps.tensors[i]).itemsize // 8) * 8
    buf = mmap.mmap(-1, max(total, 1))
    for i in indices:  # force the tables to be built once, before forking
        t = ps.tensors[i]
        for k in ([t["table"]] if "table" in t else t.get("tables", [])):
            ps.table(k)
    ctx = mp.get_context("fork")
    procs = []
    for share in shares[1:]:
        recv, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(ps, share, buf, offsets, send), daemon=True)
        p.start()
        send.close()
        procs.append((p, recv))
    failure = None
    try:
        _run(ps, shares[0], buf, offsets)
    except errors.NwcodecError as exc:
        failure = exc
    for p, recv in procs:
        try:
            msg = recv.recv()
        except EOFError:
            msg = ("MalformedError", "decoder worker died")
        p.join()
        if msg is not None and failure is None:
            failure = getattr(errors, msg[0], errors.MalformedError)(msg[1])
    if failure is not None:
        raise failure
    return {ps.tensors[i]["name"]: np.frombuffer(buf, dtype=_out_dtype(ps.tensors[i]),
                                                  count=math.prod(ps.tensors[i]["shape"]),
                                                  offset=offsets[i]).reshape(ps.tensors[i]["shape"])
            for i in indices}
