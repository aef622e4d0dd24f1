"""Reading input files with typed errors (shared by the library and the CLI)."""
from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def read_bytes(path: str | os.PathLike) -> bytes:
    """Read a whole file, with a typed error if it is missing."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    return p.read_bytes()
