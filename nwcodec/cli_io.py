"""File helpers for the CLI: atomic writes (no partial output on failure) and tensor files."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .atomic import atomic_path, write_bytes_atomic
from .files import read_bytes
from .errors import InputError

__all__ = ["atomic_path", "write_bytes_atomic", "read_bytes", "save_tensors"]


def save_tensors(arrays: dict[str, np.ndarray], out: str | os.PathLike, dtypes: dict[str, str] | None = None,
                 notes: list[str] | None = None) -> None:
    """Write decoded arrays as ``.safetensors``, ``.npz`` or ``.pt`` (chosen by the suffix), atomically."""
    from .formats.tensor_files import WRITE_SUFFIXES, write_tensor_file

    suffix = Path(out).suffix.lower()
    if suffix not in WRITE_SUFFIXES:
        raise InputError(f"output must end in {', '.join(WRITE_SUFFIXES)}, not {suffix or Path(out).name!r}")
    with atomic_path(out) as tmp:
        write_tensor_file(tmp, arrays, dtypes, notes, suffix=suffix)
