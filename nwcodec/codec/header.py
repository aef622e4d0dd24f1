"""The ``HEAD`` chunk: a strict JSON description of the tensors (and, for scenes, of the field).

Building is trivial; :func:`validate_header` is the strict part every decoder runs before it
allocates anything. Keys and checks that depend on the coding come from :mod:`nwcodec.codings`.
"""
from __future__ import annotations

import math

from ..bitstream.limits import Limits
from ..codings import CODINGS, get_coding
from ..codings.base import header_int, header_shape
from ..codings.dtypes import FLOAT_DTYPES, INT_DTYPES, ITEMSIZE
from ..errors import DuplicateNameError, LimitExceededError, MalformedError

KINDS = ("weights", "scene")
_TOP_REQUIRED = {"kind", "tensors", "tables"}

__all__ = ["CODINGS", "FLOAT_DTYPES", "INT_DTYPES", "ITEMSIZE", "KINDS", "validate_header"]


def validate_header(h: dict, limits: Limits, n_tables: int) -> list[dict]:
    """Check every field of a parsed header; returns the tensor entries (shapes as tuples)."""
    missing = _TOP_REQUIRED - h.keys()
    if missing:
        raise MalformedError(f"HEAD: missing key(s) {sorted(missing)}")
    if h["kind"] not in KINDS:
        raise MalformedError(f"HEAD: unknown kind {h['kind']!r}")
    if header_int(h["tables"], "tables") != n_tables:
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
        if not isinstance(t, dict):
            raise MalformedError(f"HEAD: tensor {i} is not an object")
        coding = get_coding(t.get("coding"))
        if set(t) != coding.keys:
            raise MalformedError(f"HEAD: tensor {i} keys {sorted(t)} != {sorted(coding.keys)}")
        name = t["name"]
        if not isinstance(name, str) or not name or len(name.encode()) > limits.max_name_bytes:
            raise MalformedError(f"HEAD: tensor {i} has an invalid name")
        if name in seen:
            raise DuplicateNameError(f"HEAD: duplicate tensor name {name!r}")
        seen.add(name)
        if not isinstance(t["dtype"], str) or t["dtype"] not in FLOAT_DTYPES + INT_DTYPES:
            raise MalformedError(f"HEAD: tensor {name!r} has unknown dtype {t['dtype']!r}")
        if coding.float_only and t["dtype"] not in FLOAT_DTYPES:
            raise MalformedError(f"HEAD: tensor {name!r}: coding {coding.name} needs a float dtype")
        entry = dict(t, shape=header_shape(t["shape"], f"shape of {name!r}", limits))
        total += math.prod(entry["shape"])
        if total > limits.max_elements:
            raise LimitExceededError(f"HEAD: more than {limits.max_elements} elements in all")
        coding.validate(entry, n_tables, limits)
        out.append(entry)
    return out
