"""The header chunk, plain (``HEAD``, format 1.0) or zlib-compressed (``ZHDR``, format 1.1).

``ZHDR`` payload: ``uvarint n`` (the JSON's byte length) then one complete zlib stream (RFC 1950)
that inflates to exactly ``n`` bytes. Inflation is bounded by ``n`` (itself bounded by the
JSON size limit) before any memory is committed, so a small hostile chunk cannot expand without
limit. Writers use ``ZHDR`` only when it is smaller than the plain header.
"""
from __future__ import annotations

import zlib

from ..bitstream import Chunk, Limits, Reader, Writer
from ..errors import LimitExceededError, MalformedError

HEADER_TYPES = ("HEAD", "ZHDR")


def header_chunk(json_bytes: bytes, compress: bool = True) -> Chunk:
    """``ZHDR`` if compressing helps (and is allowed), else ``HEAD``."""
    if compress:
        w = Writer()
        w.uvarint(len(json_bytes))
        w.bytes(zlib.compress(json_bytes, 9))
        z = w.getvalue()
        if len(z) < len(json_bytes):
            return Chunk("ZHDR", z)
    return Chunk("HEAD", json_bytes)


def header_json(chunk: Chunk, limits: Limits) -> bytes:
    """The header's JSON bytes (inflated and checked for ``ZHDR``)."""
    if chunk.type == "HEAD":
        return chunk.data
    r = Reader(chunk.data, "ZHDR")
    n = r.uvarint()
    if n > limits.max_json_bytes:
        raise LimitExceededError(f"ZHDR: header of {n} bytes exceeds the limit {limits.max_json_bytes}")
    d = zlib.decompressobj()
    try:
        out = d.decompress(bytes(r.bytes(r.remaining())), n + 1)
    except zlib.error as exc:
        raise MalformedError(f"ZHDR: corrupt zlib data ({exc})") from None
    if len(out) != n or not d.eof or d.unused_data or d.unconsumed_tail:
        raise MalformedError(f"ZHDR: does not inflate to exactly {n} bytes in one zlib stream")
    return out
