"""Strict JSON (FORMAT.md section 5) on top of the stdlib parser, with the spec's extra rules."""
from __future__ import annotations

import json
import math

from .errors import DuplicateNameError, LimitExceededError, MalformedError

MAX_JSON_BYTES = 1 << 24
MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 4300


def _depth(text: str) -> int:
    """Bracket nesting outside string literals, without recursion."""
    depth = best = 0
    in_str = esc = False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    return best


def _pairs(pairs: list) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateNameError(f"duplicate JSON key {k!r}")
        out[k] = v
    return out


def _constant(name: str):
    raise MalformedError(f"JSON constant {name} is not allowed")


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise MalformedError(f"JSON number {text} overflows a double")
    return v


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise MalformedError("JSON integer with more than 4300 digits")
    return int(text)


def _no_surrogates(v) -> None:
    stack = [v]
    while stack:
        x = stack.pop()
        if isinstance(x, str):
            if any(0xD800 <= ord(c) <= 0xDFFF for c in x):
                raise MalformedError("JSON string holds a lone surrogate")
        elif isinstance(x, dict):
            stack.extend(x.keys())
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)


def loads(raw: bytes) -> dict:
    """Parse one strict-JSON document (bytes) whose top level is an object."""
    if len(raw) > MAX_JSON_BYTES:
        raise LimitExceededError("JSON document above max_json_bytes")
    if raw[:3] == b"\xef\xbb\xbf":
        raise MalformedError("JSON starts with a BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("JSON is not UTF-8") from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise LimitExceededError("JSON nested deeper than max_json_depth")
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float,
                           parse_int=_int)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, MalformedError):
            raise
        raise MalformedError(f"JSON syntax: {exc}") from None
    if not isinstance(value, dict):
        raise MalformedError("JSON top level is not an object")
    _no_surrogates(value)
    return value
