"""Atomic output files: written beside the target, renamed into place, with the user's umask applied."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from .errors import InputError


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


@contextlib.contextmanager
def atomic_path(out: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; it replaces ``out`` only if the block succeeds.

    The file gets the mode a plain ``open(out, "w")`` would (0o666 minus the umask), not mkstemp's 0o600.
    """
    out = Path(out)
    if out.is_dir():
        raise InputError(f"output is a directory: {out}")
    if not out.parent.exists():
        raise InputError(f"output directory does not exist: {out.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_bytes_atomic(out: str | os.PathLike, data: bytes) -> None:
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
