"""Layered streams (FORMAT.md 6.16): level ``k`` of a stream or prefix, written from the spec only.

Framing without ``NEND`` (stop at a cut, at ``NEND`` or after the ``LEVL`` closing level ``k``), level 0 as an
ordinary stream, later levels' ``LEVL`` entries, and ``refine``: ``Q' = factor * Q + r``, ``float32(Q') * step``.
"""
from __future__ import annotations

import math
import struct
import zlib

import numpy as np

from . import sjson
from .codings import Context, decode_tensor, out_dtype
from .decode import stream_info
from .errors import (ChecksumError, MalformedError, TruncatedError, UnknownChunkError)
from .container import MAGIC
from .header import validate
from .reader import Reader
from .segments import INT32_MAX, INT32_MIN, read_segment_list
from .tables import parse_table

KNOWN = {"HEAD", "ZHDR", "TABL", "TENS", "BASE", "LEVL", "note"}


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack("<I", len(data)) + ctype + data + struct.pack("<I", zlib.crc32(ctype + data))


def levels(data: bytes, stop: int | None = None) -> tuple[list[list[tuple[str, bytes]]], bool]:
    """The closed levels (lists of ``(type, data)``) framed, and whether the walk met a cut."""
    data = bytes(data)
    if data[:8] != MAGIC or len(data) < 12:
        raise MalformedError("not a layered nwcodec stream")
    frames, pos, cut, closed, nend = [], 12, False, 0, False
    while pos < len(data):
        if len(data) - pos < 8:
            cut = True
            break
        n = int.from_bytes(data[pos:pos + 4], "little")
        if pos + 12 + n > len(data):
            cut = True
            break
        ctype, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if zlib.crc32(ctype + body) != int.from_bytes(data[pos + 8 + n:pos + 12 + n], "little"):
            raise ChecksumError(f"chunk at {pos}")
        pos += 12 + n
        if ctype == b"NEND":
            if n or pos != len(data):
                raise MalformedError("NEND not empty or not last")
            nend = True
            break
        frames.append((ctype.decode("ascii"), body))
        if ctype == b"LEVL":
            closed += 1
            if stop is not None and closed > stop:
                break
    out, cur = [], []
    for t, body in frames:
        if t not in KNOWN and t[0].isupper():
            raise UnknownChunkError(t)
        cur.append((t, body))
        if t == "LEVL":
            out.append(cur)
            cur = []
    if cur and nend:
        raise MalformedError("chunks after the last LEVL of a complete stream")
    return out, cut or bool(cur)


def _ints(t: dict, payload: bytes, index: int, tables: list) -> tuple[np.ndarray, np.ndarray]:
    r = Reader(payload, t["name"])
    if r.uvarint() != index:
        raise MalformedError(f"{t['name']}: TENS index")
    k = 1 if t["axis"] is None else t["shape"][t["axis"]]
    steps = r.array("<f4", k).astype(np.float32)
    if not np.all(np.isfinite(steps)):
        raise MalformedError("non-finite step")
    q = read_segment_list(r, tables[t["table"]], math.prod(t["shape"])).astype(np.int64)
    r.done()
    return steps, q


def _value(t: dict, steps: np.ndarray, q: np.ndarray) -> np.ndarray:
    shape = t["shape"]
    q = q.reshape(shape)
    step = steps[0] if t["axis"] is None else steps.reshape([-1 if d == t["axis"] else 1 for d in range(len(shape))])
    with np.errstate(over="ignore"):
        return np.multiply(q.astype(np.float32), step, dtype=np.float32).astype(out_dtype(t["dtype"]))


def decode_level(data: bytes, k: int | None = None) -> list[tuple[str, np.ndarray]]:
    """The tensors of level ``k`` (default: the last, with the stream ending at a boundary or NEND)."""
    lv, cut = levels(data, k)
    if k is None:
        if cut:
            raise TruncatedError("stream ends inside a level")
        k = len(lv) - 1
    if k < 0 or k >= len(lv):
        raise TruncatedError(f"level {k} is not complete ({len(lv)} complete)")
    body0 = b"".join(_chunk(t.encode(), d) for t, d in lv[0][:-1])
    info = stream_info(bytes(data[:12]) + body0 + _chunk(b"NEND", b""))
    if sjson.loads(lv[0][-1][1]).get("level") != 0:
        raise MalformedError("LEVL 0 level number")
    tensors = {t["name"]: t for t in info["tensors"]}
    order = list(tensors)
    state: dict[str, tuple] = {}
    ctx0 = Context(info["tables"])
    for i, (t, p) in enumerate(zip(info["tensors"], info["payloads"])):
        state[t["name"]] = ("int", t, *_ints(t, p, i, info["tables"])) if t["coding"] == "quant" else ("other", t, i, p, ctx0)
    for j in range(1, k + 1):
        chunks = lv[j]
        crit = [t for t, _ in chunks if t[0].isupper()]
        meta = sjson.loads(chunks[-1][1])
        if meta.get("level") != j or crit != sorted(crit, key=["TABL", "TENS", "LEVL"].index):
            raise MalformedError(f"level {j} order or number")
        tables = [parse_table(d, f"TABL {i}") for i, d in enumerate(d for t, d in chunks if t == "TABL")]
        payloads = [d for t, d in chunks if t == "TENS"]
        entries = meta["tensors"]
        plain = [dict(e, coding="quant") if e.get("coding") == "refine" else e for e in entries]
        for e in plain:
            e.pop("factor", None)
        checked = validate({"kind": info["header"]["kind"], "tensors": plain, "tables": meta["tables"]}, len(tables))
        if len(checked) != len(payloads):
            raise MalformedError(f"level {j}: tensor count")
        for i, (e, c, p) in enumerate(zip(entries, checked, payloads)):
            name = c["name"]
            if name not in tensors or tuple(tensors[name]["shape"]) != c["shape"] or tensors[name]["dtype"] != c["dtype"]:
                raise MalformedError(f"level {j}: {name!r} not a level-0 tensor of that shape/dtype")
            if e["coding"] == "refine":
                f = e["factor"]
                if type(f) is not int or not 1 <= f <= 1 << 16 or state[name][0] != "int":
                    raise MalformedError(f"level {j}: bad refine of {name!r}")
                steps, r = _ints(c, p, i, tables)
                q = f * state[name][3] + r
                if q.size and (int(q.min()) < INT32_MIN or int(q.max()) > INT32_MAX):
                    raise MalformedError("refined integers leave int32")
                state[name] = ("int", c, steps, q)
            elif e["coding"] == "quant":
                state[name] = ("int", c, *_ints(c, p, i, tables))
            else:
                state[name] = ("other", c, i, p, Context(tables))
    out = []
    for name in order:
        s = state[name]
        out.append((name, _value(s[1], s[2], s[3]) if s[0] == "int" else decode_tensor(s[1], s[2], s[3], s[4])))
    return out
