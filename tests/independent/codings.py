"""``TENS`` payloads by coding (FORMAT.md 6.5, 6.6, 6.11): a registry ``coding -> reader``."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import methods
from .errors import BaseMismatchError, MalformedError
from .reader import Reader
from .segments import INT32_MAX, INT32_MIN, read_segment_list
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
for _name in methods.READERS:   # format 1.2 (FORMAT.md 6.15)
    CODINGS[_name] = lambda t, r, ctx: methods.read(t, r, ctx.tables).astype(out_dtype(t["dtype"]))


def decode_tensor(t: dict, index: int, payload: bytes, ctx: Context) -> np.ndarray:
    r = Reader(payload, f"TENS {index} ({t['name']})")
    if r.uvarint() != index:
        raise MalformedError(f"TENS {index}: index field does not match its position")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):   # IEEE results, no warnings
        out = CODINGS[t["coding"]](t, r, ctx)
    r.done()
    return out
