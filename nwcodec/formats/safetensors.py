"""The safetensors format in numpy alone: ``u64 n | JSON header (n bytes) | data``.

bfloat16 tensors are read as their uint16 bit patterns with the dtype name ``"bfloat16"`` and written
from uint16 bits (or rounded from float32); sizes and offsets are checked before anything is allocated.
"""
from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from ..errors import InputError

MAX_HEADER_BYTES = 100 << 20
ST_TO_NAME = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
              "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}
NAME_TO_ST = {v: k for k, v in ST_TO_NAME.items()}
WIRE = {"float64": "<f8", "float32": "<f4", "float16": "<f2", "bfloat16": "<u2", "int64": "<i8", "int32": "<i4",
        "int16": "<i2", "int8": "<i1", "uint8": "<u1", "bool": "|b1"}


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str], dict[str, str]]:
    """``(arrays, dtype names, metadata)``; bfloat16 arrays are uint16 bit patterns."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise InputError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (n,) = struct.unpack("<Q", raw)
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise InputError(f"{path}: not a safetensors file (header length {n} does not fit)")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"{path}: not a safetensors file (header is not JSON)") from None
        if not isinstance(header, dict):
            raise InputError(f"{path}: safetensors header is not an object")
        meta = header.pop("__metadata__", None) or {}
        data_len = size - 8 - n
        entries = sorted(((_entry(path, k, v, data_len), k) for k, v in header.items()), key=lambda e: e[0][2])
        arrays, dtypes = {}, {}
        for (dtype, shape, start, end), name in entries:
            f.seek(8 + n + start)
            buf = f.read(end - start)
            arrays[name] = np.frombuffer(buf, dtype=WIRE[dtype]).reshape(shape).astype(WIRE[dtype].replace("|b1", "?"))
            dtypes[name] = dtype
    order = list(header)
    return ({k: arrays[k] for k in order}, {k: dtypes[k] for k in order},
            {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {})


def _entry(path: Path, name: str, e: object, data_len: int) -> tuple[str, tuple[int, ...], int, int]:
    if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
        raise InputError(f"{path}: bad safetensors entry for {name!r}")
    dtype = ST_TO_NAME.get(e["dtype"])
    if dtype is None:
        raise InputError(f"{path}: tensor {name!r} has unsupported dtype {e['dtype']!r}")
    shape, offs = e["shape"], e["data_offsets"]
    if (not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape)
            or not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(o, int) for o in offs)):
        raise InputError(f"{path}: bad shape or offsets for {name!r}")
    start, end = offs
    if not 0 <= start <= end <= data_len or end - start != math.prod(shape) * np.dtype(WIRE[dtype]).itemsize:
        raise InputError(f"{path}: tensor {name!r} does not fit the file (truncated?)")
    return dtype, tuple(shape), start, end


def write_safetensors(path: str | os.PathLike, arrays: dict[str, np.ndarray], dtypes: dict[str, str] | None = None,
                      metadata: dict[str, str] | None = None) -> None:
    """Write ``arrays``; ``dtypes[name] == "bfloat16"`` stores a uint16 (bits) or float32 (rounded) array as BF16."""
    from .bf16 import f32_to_bf16_bits

    dtypes = dtypes or {}
    header: dict[str, object] = {"__metadata__": dict(metadata)} if metadata else {}
    blobs, offset = [], 0
    for name, a in arrays.items():
        a = np.asarray(a)
        dtype = dtypes.get(name, a.dtype.name)
        if dtype == "bfloat16" and a.dtype != np.uint16:
            a = f32_to_bf16_bits(a)
        if dtype not in WIRE:
            raise InputError(f"tensor {name!r}: dtype {dtype} cannot be written to safetensors")
        b = np.ascontiguousarray(a, dtype=WIRE[dtype].replace("|b1", "?")).tobytes()
        header[name] = {"dtype": NAME_TO_ST[dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
