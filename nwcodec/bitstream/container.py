"""The nwcodec container: magic, version, then CRC-protected chunks ending in NEND (PNG-style framing).

Stream: ``MAGIC | u16 major | u16 minor | chunk* | NEND``; chunk: ``u32 length | type[4] | data | u32 crc``,
all little-endian, crc = CRC-32 (zlib) of type bytes + data. See bitstreams/FORMAT.md.
"""
from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from nwcodec.bitstream.limits import DEFAULT_LIMITS, Limits
from nwcodec.errors import (BadMagicError, ChecksumError, LimitExceededError, MalformedError, TruncatedError,
                            UnknownChunkError, UnsupportedVersionError)

MAGIC: bytes = b"\x89NWC\r\n\x1a\n"
FORMAT_MAJOR, FORMAT_MINOR = 1, 5
END_TYPE = "NEND"

_VERSION = struct.Struct("<HH")
_HEADER = len(MAGIC) + _VERSION.size           # 12 bytes before the first chunk
_LEN_TYPE = struct.Struct("<I4s")              # chunk length + type
_CRC = struct.Struct("<I")
_OVERHEAD = _LEN_TYPE.size + _CRC.size         # 12 framing bytes per chunk
_TYPE_RE = re.compile(rb"[A-Za-z]{4}")


def _check_type(raw: bytes) -> None:
    if not _TYPE_RE.fullmatch(raw):
        raise MalformedError(f"chunk type {raw!r} is not 4 ASCII letters")


@dataclass(frozen=True)
class Chunk:
    """One chunk: 4-letter type (uppercase first letter = critical) and its payload."""

    type: str
    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not self.type.isascii():
            raise MalformedError(f"chunk type {self.type!r} is not 4 ASCII letters")
        _check_type(self.type.encode("ascii"))
        if not isinstance(self.data, bytes):
            object.__setattr__(self, "data", bytes(self.data))

    @property
    def critical(self) -> bool:
        """A decoder that does not know a critical chunk must refuse the stream."""
        return self.type[0].isupper()


@dataclass
class Container:
    """A decoded stream: version, known chunks in stream order, and types of skipped ancillary chunks."""

    version: tuple[int, int]
    chunks: list[Chunk]
    skipped: list[str]


def chunk_crc(type: str, data: bytes) -> int:
    """CRC-32 (zlib/PNG polynomial) over the 4 type bytes followed by the data."""
    return zlib.crc32(data, zlib.crc32(type.encode("ascii")))


def pack(chunks: Sequence[Chunk], version: tuple[int, int] = (FORMAT_MAJOR, 0), *,
         limits: Limits = DEFAULT_LIMITS) -> bytes:
    """Serialize ``chunks`` after the magic and version, appending the empty NEND end marker.

    Writers stamp the lowest version whose features the stream uses (1.0 unless a 1.1 chunk
    such as ``BASE`` is present); ``FORMAT_MINOR`` is the newest minor this decoder knows.
    """
    major, minor = version
    if not (0 <= major <= 0xFFFF and 0 <= minor <= 0xFFFF):
        raise ValueError(f"version {version!r} does not fit two u16 fields")
    body = list(chunks)
    for chunk in body:
        if not isinstance(chunk, Chunk):
            raise TypeError(f"expected Chunk, got {type(chunk).__name__}")
        if chunk.type == END_TYPE:
            raise MalformedError("NEND is appended by pack(); do not supply it")
        if len(chunk.data) > limits.max_chunk_bytes:
            raise LimitExceededError(f"chunk {chunk.type} of {len(chunk.data)} bytes exceeds "
                                     f"max_chunk_bytes={limits.max_chunk_bytes}")
    body.append(Chunk(END_TYPE, b""))
    if len(body) > limits.max_chunks:
        raise LimitExceededError(f"{len(body)} chunks (NEND included) exceed max_chunks={limits.max_chunks}")
    total = _HEADER + sum(len(c.data) + _OVERHEAD for c in body)
    if total > limits.max_total_bytes:
        raise LimitExceededError(f"stream of {total} bytes exceeds max_total_bytes={limits.max_total_bytes}")
    parts = [MAGIC, _VERSION.pack(major, minor)]
    for c in body:
        parts += [_LEN_TYPE.pack(len(c.data), c.type.encode("ascii")), c.data, _CRC.pack(chunk_crc(c.type, c.data))]
    return b"".join(parts)


def unpack(data: bytes | bytearray | memoryview, *, known: frozenset[str], limits: Limits = DEFAULT_LIMITS,
           max_minor: int | None = None) -> Container:
    """Parse and verify a stream. Faults are checked class by class over the whole stream, in the order
    BadMagic, Truncated, UnsupportedVersion, LimitExceeded/Truncated (framing walk), Checksum, Malformed,
    UnknownChunk. ``max_minor`` (optional) refuses streams newer than a given minor version."""
    buf = memoryview(data).cast("B")
    major, minor = check_preamble(buf, limits, max_minor)
    frames, end = _walk(buf, limits)
    check_frames(buf, frames)
    if end is None:
        raise MalformedError("stream ends without the NEND chunk (truncated at a chunk boundary?)")
    if frames[-1][1] != 0:
        raise MalformedError(f"NEND chunk carries {frames[-1][1]} bytes (must be empty)")
    if end != len(buf):
        raise MalformedError(f"{len(buf) - end} bytes after the NEND chunk")
    chunks, skipped = [], []
    for pos, n, raw_type in frames[:-1]:
        ctype = raw_type.decode("ascii")
        if ctype in known:
            start = pos + _LEN_TYPE.size
            chunks.append(Chunk(ctype, bytes(buf[start:start + n])))
        elif ctype[0].isupper():
            raise UnknownChunkError(f"unknown critical chunk {ctype} at offset {pos}")
        else:
            skipped.append(ctype)
    return Container(version=(major, minor), chunks=chunks, skipped=skipped)


def check_preamble(buf: memoryview, limits: Limits, max_minor: int | None = None) -> tuple[int, int]:
    """Magic, version and total size of a stream or prefix (FORMAT.md 1-2, 7); returns ``(major, minor)``.
    Shared by every reader of the container (whole streams here, layered prefixes in ``codec.levels_frame``)."""
    if len(buf) < len(MAGIC) or buf[:len(MAGIC)] != MAGIC:
        raise BadMagicError("data does not start with the nwcodec magic (not nwcodec, or damaged in transfer)")
    if len(buf) < _HEADER:
        raise TruncatedError(f"stream of {len(buf)} bytes ends inside the version header")
    major, minor = _VERSION.unpack_from(buf, len(MAGIC))
    if major != FORMAT_MAJOR:
        raise UnsupportedVersionError(f"format major version {major} (this decoder reads {FORMAT_MAJOR}.x)")
    if max_minor is not None and minor > max_minor:
        raise UnsupportedVersionError(f"format version {major}.{minor} is newer than the allowed {major}.{max_minor}")
    if len(buf) > limits.max_total_bytes:
        raise LimitExceededError(f"stream of {len(buf)} bytes exceeds max_total_bytes={limits.max_total_bytes}")
    return major, minor


def check_frames(buf: memoryview, frames: list[tuple[int, int, bytes]]) -> None:
    """Every framed chunk's CRC, then its type letters (``ChecksumError`` before ``MalformedError``)."""
    for i, (pos, n, raw_type) in enumerate(frames):
        stored = _CRC.unpack_from(buf, pos + _LEN_TYPE.size + n)[0]
        if zlib.crc32(buf[pos + 4:pos + _LEN_TYPE.size + n]) != stored:
            raise ChecksumError(f"chunk #{i} {bytes(raw_type)!r} at offset {pos}: CRC mismatch")
    for _, _, raw_type in frames:
        _check_type(raw_type)


def frame_at(buf: memoryview, pos: int, limits: Limits, n_frames: int) -> tuple[int, bytes] | None:
    """``(length, type)`` of the chunk framed at ``pos`` (the ``n_frames``-th), its limits checked before any of
    its data is touched; ``None`` when the data ends inside it (its header or its declared length).
    Shared by every walk over chunks (whole streams here, layered prefixes in ``codec.levels_frame``)."""
    if len(buf) - pos < _LEN_TYPE.size:
        return None
    n, raw_type = _LEN_TYPE.unpack_from(buf, pos)
    if n > limits.max_chunk_bytes:
        raise LimitExceededError(f"chunk {raw_type!r} at offset {pos} declares {n} bytes "
                                 f"(max_chunk_bytes={limits.max_chunk_bytes})")
    if n_frames >= limits.max_chunks:
        raise LimitExceededError(f"more than max_chunks={limits.max_chunks} chunks")
    if n + _OVERHEAD > len(buf) - pos:
        return None
    return n, raw_type


def _cut_message(buf: memoryview, pos: int) -> str:
    """Why the chunk at ``pos`` does not fit in the data (``frame_at`` returned ``None``)."""
    if len(buf) - pos < _LEN_TYPE.size:
        return f"chunk header at offset {pos} cut short ({len(buf) - pos} bytes left)"
    n, raw_type = _LEN_TYPE.unpack_from(buf, pos)
    return (f"chunk {raw_type!r} at offset {pos} declares {n} bytes "
            f"({n + _OVERHEAD} framed), only {len(buf) - pos} bytes left")


def _walk(buf: memoryview, limits: Limits) -> tuple[list[tuple[int, int, bytes]], int | None]:
    """Frame every chunk up to NEND from the declared lengths, checking limits before any data is touched.
    Returns (offset, length, type) per chunk and the offset just past NEND (None if the data ends first)."""
    frames: list[tuple[int, int, bytes]] = []
    pos = _HEADER
    while pos != len(buf):
        frame = frame_at(buf, pos, limits, len(frames))
        if frame is None:
            raise TruncatedError(_cut_message(buf, pos))
        n, raw_type = frame
        frames.append((pos, n, raw_type))
        pos += n + _OVERHEAD
        if raw_type == END_TYPE.encode("ascii"):
            return frames, pos
    return frames, None
