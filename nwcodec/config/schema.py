"""Validate a nested dataclass tree from plain data (YAML/JSON): every error names its dotted path.

Field types drive the checks (``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``X | None``,
``tuple[...]``, ``list[X]``, ``dict``, nested dataclasses); :func:`spec` adds bounds (``gt``/``ge``),
``choices`` and a custom ``parse`` hook. Unknown keys get a difflib "did you mean" hint.
"""
from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from typing import Any, Callable, Iterable, TypeVar

from nwcodec.errors import ConfigError

T = TypeVar("T")


def join(prefix: str, key: Any) -> str:
    """``prefix.key`` (or ``key`` at the top level)."""
    return f"{prefix}.{key}" if prefix else str(key)


def did_you_mean(key: Any, known: Iterable[str]) -> str:
    """``; did you mean 'x'?`` for a close match, else the list of known keys."""
    known = list(known)
    close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


def unknown_key(prefix: str, key: Any, known: Iterable[str]) -> ConfigError:
    """The error for an unknown key, with a hint."""
    return ConfigError(f"{join(prefix, key)}: unknown key{did_you_mean(key, known)}")


def spec(default: Any = dataclasses.MISSING, *, factory: Callable[[], Any] | None = None,
         gt: float | None = None, ge: float | None = None, choices: Iterable[str] | None = None,
         parse: Callable[[str, Any], Any] | None = None) -> Any:
    """A dataclass field with validation metadata (bounds, choices or a ``parse(key, value)`` hook)."""
    meta = {"gt": gt, "ge": ge, "choices": None if choices is None else tuple(choices), "parse": parse}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _bounds(meta: dict) -> str:
    if meta.get("gt") is not None:
        return f" > {meta['gt']:g}"
    return f" >= {meta['ge']:g}" if meta.get("ge") is not None else ""


def _in_bounds(value: float, meta: dict) -> bool:
    gt, ge = meta.get("gt"), meta.get("ge")
    return (gt is None or value > gt) and (ge is None or value >= ge)


def _number(value: Any, tp: type, key: str, meta: dict) -> Any:
    what = "an integer" if tp is int else "a number"
    if tp is float and isinstance(value, str):  # YAML 1.1 reads "5e-4" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    ok = not isinstance(value, bool) and isinstance(value, int if tp is int else (int, float))
    if not ok or not _in_bounds(value, meta):
        raise ConfigError(f"{key}: expected {what}{_bounds(meta)}, got {value!r}")
    return tp(value)


def _choice(value: Any, allowed: tuple, key: str) -> Any:
    if value not in allowed:
        hint = did_you_mean(value, [str(a) for a in allowed]) if isinstance(value, str) else ""
        hint = hint if hint.startswith(";") else ""
        raise ConfigError(f"{key}: expected one of {', '.join(map(str, allowed))}, got {value!r}{hint}")
    return value


def parse_value(value: Any, tp: Any, key: str, meta: dict | None = None) -> Any:
    """``value`` checked against the type ``tp`` (and ``meta``'s bounds/choices); ConfigError names ``key``."""
    meta = meta or {}
    if meta.get("parse") is not None:
        return meta["parse"](key, value)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return parse_value(value, inner, key, meta)
    if origin is typing.Literal:
        return _choice(value, args, key)
    if dataclasses.is_dataclass(tp):
        return tp.from_dict(value, key) if hasattr(tp, "from_dict") else from_dict(tp, value, key)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if origin is list or (len(args) == 2 and args[1] is Ellipsis):
            out = [parse_value(v, args[0], f"{key}[{i}]", meta) for i, v in enumerate(value)]
            return out if origin is list else tuple(out)
        if len(value) != len(args):
            raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
        return tuple(parse_value(v, a, f"{key}[{i}]", meta) for i, (v, a) in enumerate(zip(value, args)))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if tp in (int, float):
        return _number(value, tp, key, meta)
    if tp is str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
        return _choice(value, meta["choices"], key) if meta.get("choices") else value
    if tp is dict or origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    raise ConfigError(f"{key}: unsupported field type {tp!r}")  # pragma: no cover - programming error


def from_dict(cls: type[T], data: Any, prefix: str = "") -> T:
    """An instance of the dataclass ``cls`` from a mapping (missing keys take defaults); runs ``validate``."""
    where = prefix or "config"
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls, include_extras=False)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            raise unknown_key(prefix, key, fields)
    kwargs = {k: parse_value(v, hints[k], join(prefix, k), dict(fields[k].metadata)) for k, v in data.items()}
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if validate is not None:
        validate(where)
    return obj


def known_keys(cls: type) -> tuple[str, ...]:
    """The top-level keys of a dataclass schema."""
    return tuple(f.name for f in dataclasses.fields(cls))
