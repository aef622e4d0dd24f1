"""Typed reads of untrusted JSON values: range is checked on the int/JSON value before ``float()``."""
from __future__ import annotations

import math
from typing import Any

from nwcodec.errors import MalformedError


def bounded_int(value: Any, key: str, lo: int, hi: int) -> int:
    """An int (not bool) in ``[lo, hi]``; compared as an int, so a 4000-digit integer fails typed."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedError(f"HEAD: scene.model.{key} must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise MalformedError(f"HEAD: scene.model.{key} must be in [{lo}, {hi}]")
    return value


def bounded_float(value: Any, key: str, bound: float) -> float:
    """A finite number with ``|value| <= bound``; big ints are range-checked before conversion."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedError(f"HEAD: scene.model.{key} must be a number, got {type(value).__name__}")
    if isinstance(value, int) and not -bound <= value <= bound:
        raise MalformedError(f"HEAD: scene.model.{key} is out of range")
    out = float(value)
    if not math.isfinite(out) or abs(out) > bound:
        raise MalformedError(f"HEAD: scene.model.{key} must be finite with magnitude <= {bound:g}")
    return out


def mapping(value: Any, key: str) -> dict:
    if not isinstance(value, dict):
        raise MalformedError(f"HEAD: scene.model.{key} must be an object")
    return value


def int_list(value: Any, key: str, max_len: int, lo: int, hi: int) -> list[int]:
    if not isinstance(value, list) or not 1 <= len(value) <= max_len:
        raise MalformedError(f"HEAD: scene.model.{key} must be a list of 1..{max_len} integers")
    return [bounded_int(v, f"{key}[{i}]", lo, hi) for i, v in enumerate(value)]
