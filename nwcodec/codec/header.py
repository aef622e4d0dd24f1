"""The ``HEAD`` chunk: a strict JSON description of the tensors (and, for scenes, of the field).

Building is trivial; :func:`validate_header` is the strict part every decoder runs before it
allocates anything.
"""
from __future__ import annotations

import math
from typing import Any

from ..bitstream.limits import Limits
from ..errors import DuplicateNameError, LimitExceededError, MalformedError

CODINGS = ("raw", "quant", "bytes", "latent", "residual")
FLOAT_DTYPES = ("float32", "float16", "float64", "bfloat16")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "bool")
ITEMSIZE = {"float32": 4, "float16": 2, "float64": 8, "bfloat16": 2, "int8": 1, "int16": 2,
            "int32": 4, "int64": 8, "uint8": 1, "bool": 1}
KINDS = ("weights", "scene")
_TENSOR_KEYS = {
    "raw": {"name", "shape", "dtype", "coding"},
    "quant": {"name", "shape", "dtype", "coding", "axis", "table"},
    "bytes": {"name", "shape", "dtype", "coding", "tables"},
    "latent": {"name", "shape", "dtype", "coding", "decoder", "params", "table"},
    "residual": {"name", "shape", "dtype", "coding", "table"},  # format 1.1: latent = base latent + residual
}
_TOP_REQUIRED = {"kind", "tensors", "tables"}


def _int(v: Any, what: str, lo: int = 0, hi: int = 1 << 62) -> int:
    if type(v) is not int or not lo <= v <= hi:
        raise MalformedError(f"HEAD: {what} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def _shape(v: Any, what: str, limits: Limits) -> tuple[int, ...]:
    if not isinstance(v, list):
        raise MalformedError(f"HEAD: {what} must be a list of integers")
    if len(v) > limits.max_ndim:
        raise LimitExceededError(f"HEAD: {what} has {len(v)} dims, limit {limits.max_ndim}")
    shape = tuple(_int(d, what, 0, limits.max_elements) for d in v)
    if math.prod(shape) > limits.max_elements:
        raise LimitExceededError(f"HEAD: {what} has {math.prod(shape)} elements, limit {limits.max_elements}")
    return shape


def validate_header(h: dict, limits: Limits, n_tables: int) -> list[dict]:
    """Check every field of a parsed header; returns the tensor entries (shapes as tuples)."""
    missing = _TOP_REQUIRED - h.keys()
    if missing:
        raise MalformedError(f"HEAD: missing key(s) {sorted(missing)}")
    if h["kind"] not in KINDS:
        raise MalformedError(f"HEAD: unknown kind {h['kind']!r}")
    if _int(h["tables"], "tables") != n_tables:
        raise MalformedError(f"HEAD: declares {h['tables']} tables, stream has {n_tables} TABL chunks")
    tensors = h["tensors"]
    if not isinstance(tensors, list):
        raise MalformedError("HEAD: tensors must be a list")
    if len(tensors) > limits.max_tensors:
        raise LimitExceededError(f"HEAD: {len(tensors)} tensors, limit {limits.max_tensors}")
    seen: set[str] = set()
    total = 0
    out = []
    for i, t in enumerate(tensors):
        if not isinstance(t, dict) or t.get("coding") not in CODINGS:
            raise MalformedError(f"HEAD: tensor {i} has no valid coding (one of {CODINGS})")
        keys = _TENSOR_KEYS[t["coding"]]
        if set(t) != keys:
            raise MalformedError(f"HEAD: tensor {i} keys {sorted(t)} != {sorted(keys)}")
        name = t["name"]
        if not isinstance(name, str) or not name or len(name.encode()) > limits.max_name_bytes:
            raise MalformedError(f"HEAD: tensor {i} has an invalid name")
        if name in seen:
            raise DuplicateNameError(f"HEAD: duplicate tensor name {name!r}")
        seen.add(name)
        if t["dtype"] not in FLOAT_DTYPES + INT_DTYPES:
            raise MalformedError(f"HEAD: tensor {name!r} has unknown dtype {t['dtype']!r}")
        if t["coding"] != "raw" and t["dtype"] not in FLOAT_DTYPES:
            raise MalformedError(f"HEAD: tensor {name!r}: coding {t['coding']} needs a float dtype")
        entry = dict(t, shape=_shape(t["shape"], f"shape of {name!r}", limits))
        total += math.prod(entry["shape"])
        if total > limits.max_elements:
            raise LimitExceededError(f"HEAD: more than {limits.max_elements} elements in all")
        _validate_coding(entry, n_tables, limits)
        out.append(entry)
    return out


def _validate_coding(t: dict, n_tables: int, limits: Limits) -> None:
    name, coding = t["name"], t["coding"]
    if coding in ("quant", "latent", "residual"):
        _int(t["table"], f"table of {name!r}", 0, n_tables - 1)
    if coding == "quant" and t["axis"] is not None:
        _int(t["axis"], f"axis of {name!r}", 0, max(len(t["shape"]) - 1, 0))
        if not t["shape"]:
            raise MalformedError(f"HEAD: {name!r}: per-channel steps on a scalar")
    if coding == "bytes":
        tabs = t["tables"]
        if not isinstance(tabs, list) or len(tabs) != ITEMSIZE[t["dtype"]]:
            raise MalformedError(f"HEAD: {name!r}: bytes coding needs one table per byte plane")
        for k in tabs:
            _int(k, f"byte-plane table of {name!r}", 0, n_tables - 1)
    if coding == "latent":
        if not isinstance(t["decoder"], str):
            raise MalformedError(f"HEAD: {name!r}: decoder must be a string")
        params = t["params"]
        if not isinstance(params, dict) or len(params) > 16:
            raise MalformedError(f"HEAD: {name!r}: params must be an object of at most 16 shapes")
        t["params"] = {k: _shape(v, f"param {k!r} of {name!r}", limits) for k, v in params.items()}
