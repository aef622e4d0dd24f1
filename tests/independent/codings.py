"""``TENS`` payloads by coding (FORMAT.md 6.5, 6.6, 6.11): a registry ``coding -> reader``."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import methods
from .errors import BaseMismatchError, MalformedError
from .reader import Reader
from .segments import INT32_MAX, INT32_MIN, MAX_SEGMENTS, read_segment, read_segment_list
from .synth import synthesize
from .tables import Table

WIRE = {"float32": "<f4", "float16": "<f2", "float64": "<f8", "bfloat16": "<u2", "int8": "<i1", "int16": "<i2",
        "int32": "<i4", "int64": "<i8", "uint8": "<u1", "bool": "<u1"}


@dataclass
class Context:
    """What a coding may need besides its payload: the tables, and the base's latents for ``residual``."""

    tables: list[Table]
    base_latents: dict[str, tuple[str, np.ndarray, dict]] | None = None
    latents: dict[str, tuple[str, np.ndarray, dict]] = field(default_factory=dict)


def out_dtype(dtype: str) -> np.dtype:
    """The decoded array's dtype: bfloat16 decodes to float32."""
    return np.dtype(np.float32 if dtype == "bfloat16" else dtype)


def from_wire(buf: np.ndarray, t: dict) -> np.ndarray:
    dtype, shape = t["dtype"], t["shape"]
    if dtype == "bfloat16":
        return (buf.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    if dtype == "bool":
        if buf.size and int(buf.max()) > 1:
            raise MalformedError(f"{t['name']}: raw bool byte above 1")
        return buf.astype(np.bool_).reshape(shape)
    return buf.astype(np.dtype(WIRE[dtype]).newbyteorder("="), copy=False).reshape(shape)


def _raw(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    return from_wire(r.array(WIRE[t["dtype"]], math.prod(t["shape"])), t)


def _finite(a: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(a)):
        raise MalformedError(f"{what}: non-finite float32 value")
    return a


def _quant(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    shape, axis = t["shape"], t["axis"]
    k = 1 if axis is None else shape[axis]
    steps = _finite(r.array("<f4", k).astype(np.float32), f"{t['name']} steps")
    q = read_segment_list(r, ctx.tables[t["table"]], math.prod(shape)).reshape(shape)
    if axis is None:
        step = steps[0]
    else:
        step = steps.reshape([-1 if d == axis else 1 for d in range(len(shape))])
    w = np.multiply(q.astype(np.float32), step, dtype=np.float32)
    return w.astype(out_dtype(t["dtype"]))


def _bytes(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    numel = math.prod(t["shape"])
    planes = []
    for p, k in enumerate(t["tables"]):
        v = read_segment_list(r, ctx.tables[k], numel)
        if v.size and (int(v.min()) < 0 or int(v.max()) > 255):
            raise MalformedError(f"{t['name']}: byte plane {p} value outside 0..255")
        planes.append(v.astype(np.uint8))
    raw = np.stack(planes, axis=1) if planes else np.zeros((numel, 0), np.uint8)
    return from_wire(np.ascontiguousarray(raw).view(WIRE[t["dtype"]]).reshape(-1), t)


def _params(t: dict, r: Reader) -> dict:
    return {k: r.array("<f4", math.prod(s)).astype(np.float32).reshape(s) for k, s in t["params"].items()}


def _latent(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    params = _params(t, r)
    q = read_segment_list(r, ctx.tables[t["table"]], math.prod(t["shape"])).reshape(t["shape"])
    ctx.latents[t["name"]] = (t["decoder"], q, params)
    return synthesize(t["decoder"], q, params).astype(out_dtype(t["dtype"]))


def _residual(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    if ctx.base_latents is None or t["name"] not in ctx.base_latents:
        raise BaseMismatchError(f"{t['name']}: the base holds no latent tensor of that name")
    decoder, qb, params = ctx.base_latents[t["name"]]
    if qb.shape != t["shape"]:
        raise BaseMismatchError(f"{t['name']}: base latent has shape {qb.shape}, delta {t['shape']}")
    res = read_segment_list(r, ctx.tables[t["table"]], math.prod(t["shape"])).reshape(t["shape"])
    q = qb + res
    if q.size and (int(q.min()) < INT32_MIN or int(q.max()) > INT32_MAX):
        raise MalformedError(f"{t['name']}: base + residual leaves int32")
    return synthesize(decoder, q, params)


CODINGS: dict[str, Callable[[dict, Reader, Context], np.ndarray]] = {
    "raw": _raw, "quant": _quant, "bytes": _bytes, "latent": _latent, "residual": _residual,
}
for _name in methods.READERS:   # format 1.2 (FORMAT.md 6.18)
    CODINGS[_name] = lambda t, r, ctx: methods.read(t, r, ctx.tables).astype(out_dtype(t["dtype"]))


def _dq_levels_to_r(q: np.ndarray) -> np.ndarray:
    """FORMAT.md 6.16, literally: state 0 at the segment start, quantizer by state, next state by parity."""
    r = np.empty(q.size, dtype=np.int64)
    x = 0
    for i, v in enumerate(q.tolist()):
        if x in (1, 2):                       # Q1: r = 2q - sign(q)
            r[i] = 2 * v - (v > 0) + (v < 0)
        else:                                 # Q0: r = 2q
            r[i] = 2 * v
        x = (x + 1) % 4 if v % 2 else (-x) % 4
    return r


def _dquant(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    """``dquant`` (6.16): quant's layout; the levels of each segment pass through the 4-state machine."""
    shape, axis = t["shape"], t["axis"]
    k = 1 if axis is None else shape[axis]
    steps = _finite(r.array("<f4", k).astype(np.float32), f"{t['name']} steps")
    numel = math.prod(shape)
    table = ctx.tables[t["table"]]
    n_seg = r.uvarint()
    if not 1 <= n_seg <= MAX_SEGMENTS:
        raise MalformedError(f"{r.what}: {n_seg} segments, must be 1..2^16")
    parts, have = [], 0
    for _ in range(n_seg):
        seg = read_segment(r, table, numel - have)
        have += seg.size
        parts.append(_dq_levels_to_r(seg))
    if have != numel:
        raise MalformedError(f"{r.what}: segments hold {have} values, tensor has {numel}")
    rec = (np.concatenate(parts) if parts else np.zeros(0, np.int64)).reshape(shape)
    step = steps[0] if axis is None else steps.reshape([-1 if d == axis else 1 for d in range(len(shape))])
    w = np.multiply(rec.astype(np.float32), step, dtype=np.float32)
    return w.astype(out_dtype(t["dtype"]))


CODINGS["dquant"] = _dquant


def _class_list(r: Reader, table: Table, numel: int, dq: bool) -> np.ndarray:
    n_seg = r.uvarint()
    if not 1 <= n_seg <= MAX_SEGMENTS:
        raise MalformedError(f"{r.what}: {n_seg} segments, must be 1..2^16")
    parts, have = [], 0
    for _ in range(n_seg):
        seg = read_segment(r, table, numel - have)
        have += seg.size
        parts.append(_dq_levels_to_r(seg) if dq else seg)
    if have != numel:
        raise MalformedError(f"{r.what}: segments hold {have} values, class has {numel}")
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _rowclass(t: dict, r: Reader, ctx: Context) -> np.ndarray:
    """``rowclass`` (6.16): per-row class bytes, one segment list per class, rows put back in place."""
    shape, axis = t["shape"], t["axis"]
    k = 1 if axis is None else shape[axis]
    steps = _finite(r.array("<f4", k).astype(np.float32), f"{t['name']} steps")
    cls = r.array("<u1", shape[0])
    if cls.size and int(cls.max()) >= len(t["tables"]):
        raise MalformedError(f"{t['name']}: row class out of range")
    row = math.prod(shape[1:])
    rec = np.zeros((shape[0], row), dtype=np.int64)
    for c, tab in enumerate(t["tables"]):
        rows = [i for i in range(shape[0]) if cls[i] == c]
        vals = _class_list(r, ctx.tables[tab], len(rows) * row, t["dq"])
        for j, i in enumerate(rows):
            rec[i] = vals[j * row:(j + 1) * row]
    rec = rec.reshape(shape)
    step = steps[0] if axis is None else steps.reshape([-1 if d == axis else 1 for d in range(len(shape))])
    w = np.multiply(rec.astype(np.float32), step, dtype=np.float32)
    return w.astype(out_dtype(t["dtype"]))


CODINGS["rowclass"] = _rowclass


def decode_tensor(t: dict, index: int, payload: bytes, ctx: Context) -> np.ndarray:
    r = Reader(payload, f"TENS {index} ({t['name']})")
    if r.uvarint() != index:
        raise MalformedError(f"TENS {index}: index field does not match its position")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):   # IEEE results, no warnings
        out = CODINGS[t["coding"]](t, r, ctx)
    r.done()
    return out
