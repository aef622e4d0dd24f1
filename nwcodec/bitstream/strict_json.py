"""Strict JSON for bitstream metadata: one canonical writer, a reader that refuses anything ambiguous.

Refused on read: documents over ``max_json_bytes``, invalid UTF-8 (or a BOM), syntax errors, trailing data,
NaN/Infinity and numbers that overflow to infinity, duplicate keys at any depth, lone surrogates,
nesting deeper than ``max_json_depth`` (measured by a non-recursive scan before parsing), a top level
that is not an object.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from nwcodec.bitstream.limits import DEFAULT_LIMITS, Limits
from nwcodec.errors import DuplicateNameError, LimitExceededError, MalformedError

_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_SCAN_BLOCK = 1 << 20


def dumps(obj: Any) -> bytes:
    """Compact UTF-8 JSON in insertion order; refuses non-finite floats and non-string keys (ValueError)."""
    _check_keys(obj)
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _check_keys(obj: Any) -> None:
    """json.dumps would silently turn 1 into "1" (possibly duplicating a key); refuse instead."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            bad = [k for k in item if not isinstance(k, str)]
            if bad:
                raise ValueError(f"JSON object keys must be str, got {bad[0]!r}")
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def loads(data: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS) -> dict:
    """Parse one strict JSON object (see module docstring for what is refused)."""
    raw = bytes(data)
    if len(raw) > limits.max_json_bytes:
        raise LimitExceededError(f"JSON of {len(raw)} bytes exceeds max_json_bytes={limits.max_json_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError(f"JSON is not valid UTF-8: {exc}") from None
    depth = nesting_depth(raw)
    if depth > limits.max_json_depth:
        raise LimitExceededError(f"JSON nesting depth {depth} exceeds max_json_depth={limits.max_json_depth}")
    try:
        obj = json.loads(text, object_pairs_hook=_unique_object, parse_constant=_refuse_constant,
                         parse_float=_finite_float)
    except (MalformedError, LimitExceededError):
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, over-long integer literals
        raise MalformedError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MalformedError(f"JSON top level must be an object, got {type(obj).__name__}")
    _check_strings(obj)
    return obj


def nesting_depth(raw: bytes) -> int:
    """Maximum bracket nesting outside string literals, computed without recursion."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets, dtype=np.uint8)
    level = peak = 0
    for start in range(0, len(codes), _SCAN_BLOCK):  # blockwise to bound temporary memory
        block = codes[start:start + _SCAN_BLOCK]
        running = level + np.cumsum(np.where((block == ord("[")) | (block == ord("{")), 1, -1))
        peak, level = max(peak, int(running.max())), int(running[-1])
    return peak


def _unique_object(pairs: list[tuple[str, Any]]) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise DuplicateNameError(f"duplicate JSON key {key!r}")
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> None:
    raise MalformedError(f"JSON constant {name} is not allowed")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise MalformedError(f"JSON number {literal[:40]} overflows to infinity")
    return value


def _check_strings(obj: Any) -> None:
    """Refuse lone surrogates (escaped as \\udXXX), which cannot be re-encoded as UTF-8."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise MalformedError("JSON string contains a lone surrogate") from None
