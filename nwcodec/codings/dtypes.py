"""Tensor dtypes of the format: header names, wire encodings and the decoded numpy dtype."""
from __future__ import annotations

import sys

import numpy as np

from ..errors import MalformedError

FLOAT_DTYPES = ("float32", "float16", "float64", "bfloat16")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "bool")
ITEMSIZE = {"float32": 4, "float16": 2, "float64": 8, "bfloat16": 2, "int8": 1, "int16": 2,
            "int32": 4, "int64": 8, "uint8": 1, "bool": 1}
RAW_WIRE = {"float32": "<f4", "float16": "<f2", "float64": "<f8", "bfloat16": "<u2", "int8": "<i1",
            "int16": "<i2", "int32": "<i4", "int64": "<i8", "uint8": "<u1", "bool": "<u1"}


def out_dtype(dtype: str) -> np.dtype:
    """The decoded array's dtype, little-endian (bfloat16 decodes to float32, whatever the coding)."""
    dt = np.dtype(np.float32 if dtype == "bfloat16" else dtype)
    return dt if sys.byteorder == "little" else dt.newbyteorder("<")


def out_nbytes(dtype: str, numel: int) -> int:
    """Bytes of a decoded tensor."""
    return out_dtype(dtype).itemsize * numel


def from_wire(buf: np.ndarray, dtype: str, out: np.ndarray) -> None:
    """Write wire elements ``buf`` (``RAW_WIRE[dtype]``) into ``out`` (flat, ``out_dtype(dtype)``)."""
    if dtype == "bfloat16":
        out.view("<u4")[:] = buf.astype("<u4") << 16
    elif dtype == "bool":
        if buf.size and int(buf.max()) > 1:
            raise MalformedError("raw bool tensor holds a byte other than 0 or 1")
        out[:] = buf.astype(bool)
    else:
        out[:] = buf
