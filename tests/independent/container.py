"""Container: magic, version, CRC'd chunks, ``NEND`` (FORMAT.md sections 1-3, 7), in the spec's fault order."""
from __future__ import annotations

import zlib
from dataclasses import dataclass

from .errors import (BadMagicError, ChecksumError, LimitExceededError, MalformedError, TruncatedError,
                     UnknownChunkError, UnsupportedVersionError)

MAGIC = b"\x89NWC\r\n\x1a\n"
MAX_TOTAL_BYTES = 1 << 34
MAX_CHUNK_BYTES = 1 << 31
MAX_CHUNKS = 1 << 20


@dataclass
class Chunk:
    type: str
    data: bytes


def split(data: bytes, known: frozenset[str]) -> tuple[tuple[int, int], list[Chunk], list[str]]:
    """Return ``((major, minor), chunks without NEND, skipped ancillary types)``."""
    if len(data) < 8 or data[:8] != MAGIC:
        raise BadMagicError("not an nwcodec stream (magic)")
    if len(data) < 12:
        raise TruncatedError("stream ends inside the version header")
    major = int.from_bytes(data[8:10], "little")
    minor = int.from_bytes(data[10:12], "little")
    if major != 1:
        raise UnsupportedVersionError(f"major version {major}")
    if len(data) > MAX_TOTAL_BYTES:
        raise LimitExceededError("stream longer than max_total_bytes")
    framed: list[tuple[bytes, bytes, int]] = []
    pos, end = 12, None
    while pos < len(data) and end is None:      # the walk stops at the first chunk typed NEND
        if len(data) - pos < 8:
            raise TruncatedError(f"stream ends inside a chunk header at {pos}")
        length = int.from_bytes(data[pos:pos + 4], "little")
        if length > MAX_CHUNK_BYTES:
            raise LimitExceededError(f"chunk length {length} above max_chunk_bytes")
        if len(framed) + 1 > MAX_CHUNKS:
            raise LimitExceededError("more than max_chunks chunks")
        stop = pos + 8 + length + 4
        if stop > len(data):
            raise TruncatedError(f"chunk at {pos} runs past the end of the stream")
        framed.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length],
                       int.from_bytes(data[stop - 4:stop], "little")))
        pos = stop
        if framed[-1][0] == b"NEND":
            end = pos
    for ctype, cdata, crc in framed:
        if zlib.crc32(ctype + cdata) != crc:
            raise ChecksumError(f"CRC mismatch in chunk {ctype!r}")
    if end is None:
        raise MalformedError("stream does not end with NEND")
    types = []
    for ctype, _, _ in framed:
        if not all(65 <= c <= 90 or 97 <= c <= 122 for c in ctype):
            raise MalformedError(f"chunk type {ctype!r} is not 4 ASCII letters")
        types.append(ctype.decode("ascii"))
    if framed[-1][1]:
        raise MalformedError("NEND is not empty")
    if end != len(data):
        raise MalformedError(f"{len(data) - end} bytes after NEND")
    chunks, skipped = [], []
    for t, (_, cdata, _) in zip(types[:-1], framed[:-1]):
        if t in known:
            chunks.append(Chunk(t, cdata))
        elif t[0].isupper():
            raise UnknownChunkError(f"unknown critical chunk {t}")
        else:
            skipped.append(t)
    return (major, minor), chunks, skipped
