"""Format 1.2 (FORMAT.md 6.18): the ``MTHD`` chunk and the codings codebook, sparse, lowrank, sum.

Written from FORMAT.md 6.18: header checks (``check_entry``), the feature set a header uses
(``features``), and one reader per coding (``READERS``), each returning float32 before the dtype cast.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import LimitExceededError, MalformedError, UnknownChunkError
from .reader import Reader
from .segments import read_segment_list

FEATURES = ("codebook", "lowrank", "sparse", "sum")
PART_KEYS = {
    "quant": {"coding", "axis", "table"},
    "codebook": {"coding", "axis", "size", "table", "cb"},
    "sparse": {"coding", "nnz", "gaps", "values"},
    "lowrank": {"coding", "rank", "u", "v"},
}
KEYS = {c: k | {"name", "shape", "dtype"} for c, k in PART_KEYS.items() if c != "quant"}
KEYS["sum"] = {"name", "shape", "dtype", "coding", "parts"}


def _int(v, lo: int, hi: int, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise MalformedError(f"{what}: {v!r} is not an integer in [{lo}, {hi}]")
    return v


def _spec(v, n_tables: int, what: str) -> None:
    if v is not None:
        _int(v, 0, n_tables - 1, what)


def _check_part(p: dict, shape: tuple, n_tables: int, what: str) -> None:
    numel = math.prod(shape)
    c = p["coding"]
    if c == "quant":
        _int(p["table"], 0, n_tables - 1, what + " table")
        if p["axis"] is not None:
            if not shape:
                raise MalformedError(f"{what}: axis on a scalar")
            _int(p["axis"], 0, len(shape) - 1, what + " axis")
    elif c == "codebook":
        _int(p["table"], 0, n_tables - 1, what + " table")
        _spec(p["cb"], n_tables, what + " cb")
        size = _int(p["size"], 1, 65536, what + " size")
        g = 1
        if p["axis"] is not None:
            if not shape:
                raise MalformedError(f"{what}: axis on a scalar")
            g = shape[_int(p["axis"], 0, len(shape) - 1, what + " axis")]
        if g * size > max(numel, 1):
            raise LimitExceededError(f"{what}: codebooks larger than the tensor")
    elif c == "sparse":
        _int(p["nnz"], 0, numel, what + " nnz")
        _int(p["gaps"], 0, n_tables - 1, what + " gaps")
        _spec(p["values"], n_tables, what + " values")
    elif c == "lowrank":
        if not shape:
            raise MalformedError(f"{what}: low rank of a scalar")
        m, n = shape[0], math.prod(shape[1:])
        if m < 1 or n < 1:
            raise MalformedError(f"{what}: low rank of an empty tensor")
        _int(p["rank"], 1, min(m, n), what + " rank")
        if p["rank"] * m * n > 1 << 34:
            raise LimitExceededError(f"{what}: rank × numel above 2^34")
        _spec(p["u"], n_tables, what + " u")
        _spec(p["v"], n_tables, what + " v")


def check_entry(t: dict, shape: tuple, n_tables: int, what: str) -> None:
    """FORMAT.md 6.18 parse-time checks of a 1.2 tensor entry."""
    if t["coding"] != "sum":
        _check_part(t, shape, n_tables, what)
        return
    parts = t["parts"]
    if not isinstance(parts, list) or not 1 <= len(parts) <= 8:
        raise MalformedError(f"{what}: parts must be 1..8 objects")
    for i, p in enumerate(parts):
        if not isinstance(p, dict) or p.get("coding") not in PART_KEYS or set(p) != PART_KEYS[p["coding"]]:
            raise MalformedError(f"{what}: part {i} is not a quant/codebook/sparse/lowrank object with its keys")
        _check_part(p, shape, n_tables, f"{what} part {i}")


def features(tensors: list[dict]) -> set[str]:
    out = set()
    for t in tensors:
        if t["coding"] in FEATURES:
            out.add(t["coding"])
        if t["coding"] == "sum":
            out |= {p["coding"] for p in t["parts"] if p["coding"] in FEATURES}
    return out


def check_mthd(data: bytes | None, tensors: list[dict]) -> None:
    used = features(tensors)
    if data is None:
        if used:
            raise MalformedError(f"1.2 codings {sorted(used)} without MTHD")
        return
    if len(data) > 256:
        raise MalformedError("MTHD longer than 256 bytes")
    try:
        names = data.decode("ascii").split(",")
    except UnicodeDecodeError:
        raise MalformedError("MTHD is not ASCII") from None
    for n in names:
        if n not in FEATURES:
            raise UnknownChunkError(f"MTHD feature {n!r} not implemented")
    if names != sorted(set(names)) or set(names) != used:
        raise MalformedError(f"MTHD {names} does not list exactly the features used {sorted(used)}")


def _vector(spec, r: Reader, tables: list, count: int, what: str) -> np.ndarray:
    if spec is None:
        a = r.array("<f4", count).astype(np.float32)
    else:
        step = r.array("<f4", 1).astype(np.float32)
        if not np.all(np.isfinite(step)):
            raise MalformedError(f"{what}: non-finite step")
        q = read_segment_list(r, tables[spec], count)
        a = np.multiply(q.astype(np.float32), step[0], dtype=np.float32)
        return a
    if not np.all(np.isfinite(a)):
        raise MalformedError(f"{what}: non-finite value")
    return a


def _quant(p: dict, shape: tuple, r: Reader, tables: list, what: str) -> np.ndarray:
    k = 1 if p["axis"] is None else shape[p["axis"]]
    steps = r.array("<f4", k).astype(np.float32)
    if not np.all(np.isfinite(steps)):
        raise MalformedError(f"{what}: non-finite step")
    q = read_segment_list(r, tables[p["table"]], math.prod(shape)).reshape(shape)
    s = steps[0] if p["axis"] is None else steps.reshape([-1 if d == p["axis"] else 1 for d in range(len(shape))])
    return np.multiply(q.astype(np.float32), s, dtype=np.float32)


def _codebook(p: dict, shape: tuple, r: Reader, tables: list, what: str) -> np.ndarray:
    size, axis = p["size"], p["axis"]
    g = 1 if axis is None else shape[axis]
    cb = _vector(p["cb"], r, tables, g * size, what + " codebook").reshape(g, size)
    q = read_segment_list(r, tables[p["table"]], math.prod(shape)).reshape(shape)
    if q.size and (q.min() < 0 or q.max() >= size):
        raise MalformedError(f"{what}: codebook index out of range")
    if axis is None:
        return cb[0][q]
    rows = np.arange(g).reshape([-1 if d == axis else 1 for d in range(len(shape))])
    return cb[np.broadcast_to(rows, shape), q]


def _sparse(p: dict, shape: tuple, r: Reader, tables: list, what: str) -> np.ndarray:
    nnz, numel = p["nnz"], math.prod(shape)
    gaps = read_segment_list(r, tables[p["gaps"]], nnz)
    vals = _vector(p["values"], r, tables, nnz, what + " values")
    out = np.zeros(numel, np.float32)
    pos = -1
    for g, v in zip(gaps.tolist(), vals):
        if g < 0:
            raise MalformedError(f"{what}: negative gap")
        pos += g + 1
        if pos >= numel:
            raise MalformedError(f"{what}: position past the tensor")
        out[pos] = v
    return out.reshape(shape)


def _lowrank(p: dict, shape: tuple, r: Reader, tables: list, what: str) -> np.ndarray:
    m, n, k = shape[0], math.prod(shape[1:]), p["rank"]
    u = _vector(p["u"], r, tables, m * k, what + " U").reshape(m, k)
    v = _vector(p["v"], r, tables, n * k, what + " V").reshape(n, k)
    acc = np.zeros((m, n), np.float32)
    for j in range(k):                      # k ascending: acc = fl(acc + fl(U[:, j] V[:, j]^T))
        prod = np.outer(u[:, j], v[:, j]).astype(np.float32)   # float32 outer: one rounding per product
        acc = (acc + prod).astype(np.float32)
    return acc.reshape(shape)


def _sum(t: dict, shape: tuple, r: Reader, tables: list, what: str) -> np.ndarray:
    acc = None
    for i, p in enumerate(t["parts"]):
        part = PART_READERS[p["coding"]](p, shape, r, tables, f"{what} part {i}")
        acc = part if acc is None else (acc + part).astype(np.float32)
    return acc


PART_READERS = {"quant": _quant, "codebook": _codebook, "sparse": _sparse, "lowrank": _lowrank}
READERS = {"codebook": _codebook, "sparse": _sparse, "lowrank": _lowrank, "sum": _sum}


def read(t: dict, r: Reader, tables: list) -> np.ndarray:
    """A 1.2 tensor as float32 of shape ``t['shape']`` (cast to the dtype by the caller)."""
    return READERS[t["coding"]](t, tuple(t["shape"]), r, tables, t["name"])
