"""The conformance digest of decoded tensors (FORMAT.md section 6.9)."""
from __future__ import annotations

import hashlib

import numpy as np


def tensor_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over, per tensor in order: name NUL dtype NUL shape NUL little-endian C-order bytes."""
    h = hashlib.sha256()
    for name, a in arrays.items():
        h.update(b"%s\0%s\0%s\0" % (name.encode(), a.dtype.name.encode(), ",".join(map(str, a.shape)).encode()))
        h.update(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()
