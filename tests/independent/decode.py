"""Top level: stream bytes -> ``[(name, array)]`` and the conformance digest (FORMAT.md 6.1, 6.9, 6.11, 6.13)."""
from __future__ import annotations

import hashlib
import math
import zlib

import numpy as np

from . import sjson
from .codings import Context, decode_tensor
from .container import split
from .errors import BaseMismatchError, DuplicateNameError, LimitExceededError, MalformedError
from .header import validate
from .reader import Reader
from .tables import parse_table

KNOWN = frozenset({"HEAD", "ZHDR", "TABL", "TENS", "BASE", "ALIS", "note"})
MAX_SYMBOLS_PER_BYTE = 1 << 19
FREE_ELEMENTS = 1 << 20


def _zhdr(data: bytes) -> bytes:
    r = Reader(data, "ZHDR")
    n = r.uvarint()
    if n > sjson.MAX_JSON_BYTES:
        raise LimitExceededError("ZHDR declares a header above max_json_bytes")
    z = zlib.decompressobj()
    try:
        out = z.decompress(r.take(r.left()), n + 1)
    except zlib.error as exc:
        raise MalformedError(f"ZHDR: corrupt zlib data ({exc})") from None
    if len(out) != n or not z.eof or z.unused_data or z.unconsumed_tail:
        raise MalformedError("ZHDR: zlib stream does not inflate to exactly n bytes and end there")
    return out


def stream_info(data: bytes) -> dict:
    """Parse and validate everything but the tensor payloads."""
    data = bytes(data)
    version, chunks, skipped = split(data, KNOWN)
    types = [c.type for c in chunks]
    if not types or types[0] not in ("HEAD", "ZHDR") or types.count("HEAD") + types.count("ZHDR") != 1:
        raise MalformedError("the first chunk must be the one header chunk (HEAD or ZHDR)")
    critical = [t for t in types if t[0].isupper()]
    n_base, n_tab, n_ten = critical.count("BASE"), critical.count("TABL"), critical.count("TENS")
    n_al = critical.count("ALIS")
    if n_base > 1 or n_al > 1 or critical != ([types[0]] + ["BASE"] * n_base + ["TABL"] * n_tab
                                              + ["TENS"] * n_ten + ["ALIS"] * n_al):
        raise MalformedError("critical chunks out of order (HEAD BASE? TABL* TENS* ALIS?)")
    raw_header = chunks[0].data if types[0] == "HEAD" else _zhdr(chunks[0].data)
    header = sjson.loads(raw_header)
    tensors = validate(header, n_tab)
    if n_ten != len(tensors):
        raise MalformedError(f"header lists {len(tensors)} tensors, stream has {n_ten} TENS chunks")
    total = sum(math.prod(t["shape"]) for t in tensors)
    if total > FREE_ELEMENTS + MAX_SYMBOLS_PER_BYTE * len(data):
        raise LimitExceededError("expansion guard: more elements than the stream can code")
    tables = [parse_table(c.data, f"TABL {i}") for i, c in enumerate(x for x in chunks if x.type == "TABL")]
    notes = []
    for c in chunks:
        if c.type == "note":
            try:
                notes.append(c.data.decode("utf-8"))
            except UnicodeDecodeError:
                raise MalformedError("note is not UTF-8") from None
    base = [c.data for c in chunks if c.type == "BASE"]
    has_residual = any(t["coding"] == "residual" for t in tensors)
    if base and len(base[0]) != 32:
        raise MalformedError("BASE chunk is not 32 bytes")
    if bool(base) != has_residual:
        raise MalformedError("BASE chunk and residual tensors must come together")
    aliases = _aliases(next((c.data for c in chunks if c.type == "ALIS"), None), [t["name"] for t in tensors])
    return dict(version=version, header=header, tensors=tensors, tables=tables, notes=notes, skipped=skipped,
                aliases=aliases,
                base_sha256=base[0] if base else None,
                payloads=[c.data for c in chunks if c.type == "TENS"])


def _decode(data: bytes, base: bytes | None) -> tuple[list[tuple[str, np.ndarray]], Context]:
    info = stream_info(data)
    ctx = Context(info["tables"])
    if info["base_sha256"] is not None:
        if base is None or hashlib.sha256(bytes(base)).digest() != info["base_sha256"]:
            raise BaseMismatchError("delta stream needs its base (SHA-256 in BASE)")
        ctx.base_latents = _decode(base, None)[1].latents
    out = [(t["name"], decode_tensor(t, i, p, ctx))
           for i, (t, p) in enumerate(zip(info["tensors"], info["payloads"]))]
    by_name = dict(out)
    out += [(alias, by_name[target]) for alias, target in info["aliases"]]
    return out, ctx


def _aliases(data: bytes | None, names: list[str]) -> list[tuple[str, str]]:
    """FORMAT.md 6.15: ``{"aliases": [[alias, target], ...]}``; new names, targets among the HEAD tensors."""
    if data is None:
        return []
    obj = sjson.loads(data)
    pairs = obj.get("aliases") if isinstance(obj, dict) and list(obj) == ["aliases"] else None
    if not isinstance(pairs, list) or not pairs:
        raise MalformedError("ALIS payload must be {\"aliases\": [[alias, target], ...]}, non-empty")
    taken, out = set(names), []
    for p in pairs:
        if not (isinstance(p, list) and len(p) == 2 and all(isinstance(x, str) and x for x in p)):
            raise MalformedError("ALIS entry is not a pair of names")
        if p[0] in taken:
            raise DuplicateNameError(f"ALIS alias {p[0]!r} is already a name")
        if p[1] not in names:
            raise MalformedError(f"ALIS target {p[1]!r} is not a HEAD tensor")
        taken.add(p[0])
        out.append((p[0], p[1]))
    return out


def decode(data: bytes, base: bytes | None = None) -> list[tuple[str, np.ndarray]]:
    """Decode every tensor, in header order."""
    return _decode(data, base)[0]


def digest(tensors: list[tuple[str, np.ndarray]]) -> str:
    """FORMAT.md 6.9: SHA-256 over ``name 00 dtype 00 shape 00 data`` per tensor."""
    h = hashlib.sha256()
    for name, a in tensors:
        data = np.asarray(a).astype(a.dtype.newbyteorder("<"), order="C", copy=False).tobytes()
        h.update(name.encode("utf-8") + b"\0" + a.dtype.name.encode() + b"\0"
                 + ",".join(str(d) for d in a.shape).encode() + b"\0" + data)
    return h.hexdigest()
