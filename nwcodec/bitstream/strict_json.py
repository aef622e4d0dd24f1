"""Strict JSON for bitstream metadata: one canonical writer, a reader that refuses anything ambiguous.

Refused on read: documents over ``max_json_bytes``, invalid UTF-8 (or a BOM), syntax errors, trailing data,
NaN/Infinity and numbers that overflow to infinity, duplicate keys at any depth, lone surrogates,
nesting deeper than ``max_json_depth`` or more than ``max_json_values`` values (measured by a bounded
blockwise scan before parsing), a top level that is not an object.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nwcodec.bitstream.limits import DEFAULT_LIMITS, Limits
from nwcodec.errors import DuplicateNameError, LimitExceededError, MalformedError

_SCAN_BLOCK = 1 << 20
_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_LBRACE, _RBRACE, _LBRACKET, _RBRACKET = ord("{"), ord("}"), ord("["), ord("]")


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
    check_json_work(raw, limits)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError(f"JSON is not valid UTF-8: {exc}") from None
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


@dataclass(frozen=True)
class JsonShape:
    """What a bracket scan of a JSON text finds outside its string literals."""

    depth: int    # deepest bracket nesting
    values: int   # an upper bound on the JSON values: containers + separators + 1


def json_shape(raw: bytes | memoryview, stop_depth: float = math.inf, stop_values: float = math.inf) -> JsonShape:
    """Nesting depth and value bound of ``raw`` in blocks of fixed size: time linear, memory O(block).

    A quote is a string delimiter unless preceded by an odd run of backslashes (exact for every
    valid prefix of a JSON text, which is all a parser reads before it fails). The scan returns
    early once the depth passes ``stop_depth`` or the values pass ``stop_values``.
    """
    codes = np.frombuffer(raw, dtype=np.uint8)
    level = peak = values = 0
    in_string = False
    backslashes = 0   # run of backslashes ending just before the current block
    for start in range(0, codes.size, _SCAN_BLOCK):
        block = codes[start:start + _SCAN_BLOCK]
        quote = block == _QUOTE
        slash = block == _BACKSLASH
        if backslashes or slash.any():
            pos = np.arange(block.size, dtype=np.int64)
            last_other = np.maximum.accumulate(np.where(slash, -1, pos))
            run_before = np.empty(block.size, dtype=np.int64)   # backslashes right before each byte
            run_before[0] = backslashes
            run_before[1:] = pos[:-1] - last_other[:-1]
            run_before[1:] = np.where(last_other[:-1] < 0, pos[1:] + backslashes, run_before[1:])
            quote &= (run_before % 2) == 0
            backslashes = int(run_before[-1] + 1) if slash[-1] else 0
        else:
            backslashes = 0
        toggles = np.cumsum(quote, dtype=np.int64)
        inside = ((toggles + in_string) % 2 == 1) | quote
        in_string = bool((int(toggles[-1]) + in_string) % 2) if block.size else in_string
        outside = block[~inside]
        opens = (outside == _LBRACE) | (outside == _LBRACKET)
        closes = (outside == _RBRACE) | (outside == _RBRACKET)
        step = opens.astype(np.int8) - closes.astype(np.int8)
        if step.size:
            running = level + np.cumsum(step, dtype=np.int64)
            peak, level = max(peak, int(running.max())), int(running[-1])
        values += int(opens.sum()) + int((outside == _COMMA).sum())
        if peak > stop_depth or values + 1 > stop_values:
            break
    return JsonShape(peak, values + 1)


def check_json_work(raw: bytes, limits: Limits) -> None:
    """Depth and value limits, checked before parsing (LimitExceededError)."""
    opens = raw.count(b"{") + raw.count(b"[")
    if opens <= limits.max_json_depth and opens + raw.count(b",") + 1 <= limits.max_json_values:
        return   # even counting brackets and commas inside strings, both limits hold
    shape = json_shape(raw, limits.max_json_depth, limits.max_json_values)
    if shape.depth > limits.max_json_depth:
        raise LimitExceededError(f"JSON nesting depth {shape.depth} exceeds max_json_depth={limits.max_json_depth}")
    if shape.values > limits.max_json_values:
        raise LimitExceededError(f"JSON holds more than max_json_values={limits.max_json_values} values")


def nesting_depth(raw: bytes) -> int:
    """Maximum bracket nesting outside string literals (see :func:`json_shape`)."""
    return json_shape(raw).depth


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
