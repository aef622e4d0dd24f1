"""Header validation (FORMAT.md 6.2, 6.11): every tensor entry is checked before anything is decoded."""
from __future__ import annotations

import math

from . import methods
from .errors import DuplicateNameError, LimitExceededError, MalformedError, UnsupportedFeatureError

MAX_TENSORS = 1 << 16
MAX_NDIM = 8
MAX_ELEMENTS = 1 << 34
MAX_NAME_BYTES = 1024
MAX_PARAMS = 16
FLOAT_DTYPES = {"float32": 4, "float16": 2, "float64": 8, "bfloat16": 2}
INT_DTYPES = {"int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "bool": 1}
KEYS = {
    "raw": {"name", "shape", "dtype", "coding"},
    "quant": {"name", "shape", "dtype", "coding", "axis", "table"},
    "bytes": {"name", "shape", "dtype", "coding", "tables"},
    "latent": {"name", "shape", "dtype", "coding", "decoder", "params", "table"},
    "residual": {"name", "shape", "dtype", "coding", "table"},
    "dquant": {"name", "shape", "dtype", "coding", "axis", "table"},   # 6.16 (format 1.5)
    "rowclass": {"name", "shape", "dtype", "coding", "axis", "tables", "dq"},   # 6.16 (format 1.5)
}
KEYS.update(methods.KEYS)   # format 1.2 (FORMAT.md 6.18)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def shape_of(v, what: str) -> tuple[int, ...]:
    if not isinstance(v, list):
        raise MalformedError(f"{what}: shape is not an array")
    if len(v) > MAX_NDIM:
        raise LimitExceededError(f"{what}: more than {MAX_NDIM} dimensions")
    for d in v:
        if not _is_int(d) or d < 0 or d > MAX_ELEMENTS:
            raise MalformedError(f"{what}: bad dimension {d!r}")
    if math.prod(v) > MAX_ELEMENTS:
        raise LimitExceededError(f"{what}: more than max_elements elements")
    return tuple(v)


def _table_index(v, n_tables: int, what: str) -> int:
    if not _is_int(v) or not 0 <= v < n_tables:
        raise MalformedError(f"{what}: table index {v!r} out of range")
    return v


def validate(header: dict, n_tables: int) -> list[dict]:
    """Check the header; returns the tensor entries with ``shape`` as a tuple."""
    for key in ("kind", "tensors", "tables"):
        if key not in header:
            raise MalformedError(f"header lacks {key!r}")
    if header["kind"] not in ("weights", "scene"):
        raise MalformedError(f"unknown kind {header['kind']!r}")
    if not _is_int(header["tables"]) or header["tables"] != n_tables:
        raise MalformedError(f"header says {header['tables']!r} tables, stream has {n_tables} TABL chunks")
    tensors = header["tensors"]
    if not isinstance(tensors, list):
        raise MalformedError("tensors is not an array")
    if len(tensors) > MAX_TENSORS:
        raise LimitExceededError("more than max_tensors tensors")
    out, names, total = [], set(), 0
    for i, t in enumerate(tensors):
        what = f"tensor {i}"
        if not isinstance(t, dict) or t.get("coding") not in KEYS:
            coding = t.get("coding") if isinstance(t, dict) else None
            if isinstance(coding, str):
                raise UnsupportedFeatureError(f"{what}: coding {coding!r} is not implemented by the independent decoder")
            raise MalformedError(f"{what}: not an object with a known coding")
        coding = t["coding"]
        if set(t) != KEYS[coding]:
            raise MalformedError(f"{what}: keys {sorted(t)} do not match coding {coding}")
        name = t["name"]
        if not isinstance(name, str) or not name or len(name.encode("utf-8")) > MAX_NAME_BYTES:
            raise MalformedError(f"{what}: bad name")
        if name in names:
            raise DuplicateNameError(f"duplicate tensor name {name!r}")
        names.add(name)
        shape = shape_of(t["shape"], what)
        total += math.prod(shape)
        if total > MAX_ELEMENTS:
            raise LimitExceededError("more than max_elements elements in total")
        dtype = t["dtype"]
        if dtype not in FLOAT_DTYPES and dtype not in INT_DTYPES:
            raise MalformedError(f"{what}: unknown dtype {dtype!r}")
        if coding != "raw" and dtype not in FLOAT_DTYPES:
            raise MalformedError(f"{what}: coding {coding} needs a float dtype")
        e = dict(t, shape=shape)
        if coding in ("quant", "latent", "residual"):
            _table_index(t["table"], n_tables, what)
        if coding == "quant":
            axis = t["axis"]
            if axis is not None and (not _is_int(axis) or not 0 <= axis < len(shape)):
                raise MalformedError(f"{what}: bad axis {axis!r}")
        if coding == "bytes":
            tabs = t["tables"]
            if not isinstance(tabs, list) or len(tabs) != FLOAT_DTYPES[dtype]:
                raise MalformedError(f"{what}: needs {FLOAT_DTYPES[dtype]} byte-plane tables")
            for k in tabs:
                _table_index(k, n_tables, what)
        if coding == "latent":
            if not isinstance(t["decoder"], str):
                raise MalformedError(f"{what}: decoder is not a string")
            params = t["params"]
            if not isinstance(params, dict) or len(params) > MAX_PARAMS:
                raise MalformedError(f"{what}: params must be an object of at most {MAX_PARAMS} entries")
            e["params"] = {k: shape_of(v, f"{what} param {k}") for k, v in params.items()}
        if coding in methods.READERS:
            methods.check_entry(t, shape, n_tables, what)
        if coding == "residual" and dtype != "float32":
            raise MalformedError(f"{what}: residual coding needs float32")
        if coding == "dquant":   # 6.16: the checks of quant
            _table_index(t["table"], n_tables, what)
            axis = t["axis"]
            if axis is not None and (not _is_int(axis) or not 0 <= axis < len(shape)):
                raise MalformedError(f"{what}: bad axis {axis!r}")
        if coding == "rowclass":   # 6.16
            tabs = t["tables"]
            if not shape or not isinstance(tabs, list) or not 1 <= len(tabs) <= 16 or type(t["dq"]) is not bool:
                raise MalformedError(f"{what}: bad rowclass entry")
            for k in tabs:
                _table_index(k, n_tables, what)
            axis = t["axis"]
            if axis is not None and (not _is_int(axis) or not 0 <= axis < len(shape)):
                raise MalformedError(f"{what}: bad axis {axis!r}")
        out.append(e)
    return out
