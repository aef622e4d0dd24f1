"""File helpers for the CLI: atomic writes (no partial output on failure) and tensor files."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import InputError


@contextlib.contextmanager
def atomic_path(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; it replaces ``out`` only if the block succeeds."""
    out = Path(out)
    if not out.parent.exists():
        raise InputError(f"output directory does not exist: {out.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole file, with a typed error if it is missing."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    return p.read_bytes()


def save_tensors(arrays: dict[str, np.ndarray], out: str | os.PathLike) -> None:
    """Write decoded arrays as ``.safetensors`` or ``.pt`` (chosen by the suffix), atomically."""
    suffix = Path(out).suffix.lower()
    if suffix not in (".safetensors", ".pt", ".pth"):
        raise InputError(f"output must end in .safetensors, .pt or .pth, not {suffix!r}")
    with atomic_path(out) as tmp:
        if suffix == ".safetensors":
            from safetensors.numpy import save_file

            save_file({k: np.asarray(v, order="C") for k, v in arrays.items()}, str(tmp))
        else:
            import torch

            torch.save({k: torch.from_numpy(np.array(v, order="C")) for k, v in arrays.items()}, str(tmp))
