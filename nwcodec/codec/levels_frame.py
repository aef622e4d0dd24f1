"""Framing of layered streams (format 1.4): a walk that accepts a prefix, and the split into levels.

A layered stream is ``level_0 level_1 … level_n-1 NEND``; each level ends with a critical ``LEVL``
chunk (FORMAT.md 6.19). A prefix of the bytes that ends right after a ``LEVL`` chunk is a valid
stream on its own; a prefix that ends elsewhere holds the levels closed before the cut.
Container rules (magic, version, limits, CRC, type letters) are those of FORMAT.md 1-3 and 7, over
the chunks up to the point where the walk stops.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from ..bitstream.container import END_TYPE, MAGIC, Chunk, check_frames, check_preamble, frame_at
from ..bitstream.limits import DEFAULT_LIMITS, Limits
from ..errors import InputError, LimitExceededError, MalformedError, UnknownChunkError

LEVEL_TYPE = "LEVL"
LEVEL_CHUNKS = frozenset({"HEAD", "ZHDR", "TABL", "TENS", "BASE", "ALIS", "LEVL", "note"})
MAX_LEVELS = 1 << 10
_LEN_TYPE = struct.Struct("<I4s")
_HEADER, _OVERHEAD = 12, 12


class NotLayeredError(InputError):
    """A complete stream without ``LEVL``: an ordinary stream, which has exactly one level."""


@dataclass
class Level:
    """The known chunks of one level (its ``LEVL`` chunk last when closed) and its byte range."""

    chunks: list[Chunk] = field(default_factory=list)
    start: int = 0
    end: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return bool(self.chunks) and self.chunks[-1].type == LEVEL_TYPE


@dataclass
class LayeredFrames:
    """Levels found in the data: ``levels`` closed ones, ``ending`` one of "nend", "boundary", "cut"."""

    version: tuple[int, int]
    levels: list[Level]
    ending: str
    cut_at: int | None = None   # where the data stops inside an unfinished level


def is_layered(data: bytes | bytearray | memoryview) -> bool:
    """True if the chunk walk (lengths only, no checks) meets a ``LEVL`` chunk; never raises."""
    try:
        buf = memoryview(data).cast("B")
    except TypeError:
        return False
    if len(buf) < _HEADER or buf[:len(MAGIC)] != MAGIC:
        return False
    pos = _HEADER
    while len(buf) - pos >= _LEN_TYPE.size:
        n, raw = _LEN_TYPE.unpack_from(buf, pos)
        if raw == b"LEVL":
            return True
        if raw == END_TYPE.encode():
            return False
        pos += n + _OVERHEAD
    return False


def _frames(buf: memoryview, limits: Limits, stop_level: int | None) -> tuple[list[tuple[int, int, bytes]], str, int]:
    """Frame chunks until NEND, the end of the data, a cut chunk, or the ``LEVL`` closing ``stop_level``."""
    frames: list[tuple[int, int, bytes]] = []
    pos, closed = _HEADER, 0
    while pos != len(buf):
        frame = frame_at(buf, pos, limits, len(frames))
        if frame is None:
            return frames, "cut", pos
        n, raw = frame
        frames.append((pos, n, raw))
        pos += n + _OVERHEAD
        if raw == END_TYPE.encode():
            return frames, "nend", pos
        if raw == LEVEL_TYPE.encode():
            closed += 1
            if stop_level is not None and closed > stop_level:
                return frames, "level", pos
    return frames, ("boundary" if frames and frames[-1][2] == LEVEL_TYPE.encode() else "cut"), pos


def walk_levels(data: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS,
                stop_level: int | None = None) -> LayeredFrames:
    """Check and split a layered stream or prefix; stops after level ``stop_level`` when given."""
    buf = memoryview(data).cast("B")
    major, minor = check_preamble(buf, limits)
    frames, ending, end = _frames(buf, limits, stop_level)
    check_frames(buf, frames)
    if ending == "nend":
        if frames[-1][1] != 0:
            raise MalformedError(f"NEND chunk carries {frames[-1][1]} bytes (must be empty)")
        if end != len(buf):
            raise MalformedError(f"{len(buf) - end} bytes after the NEND chunk")
        frames = frames[:-1]
    levels = _split(buf, frames)
    cut_at = end if ending == "cut" else None
    if levels and not levels[-1].closed:
        if ending == "nend" and len(levels) == 1:
            raise NotLayeredError("not a layered stream (no LEVL chunk): it has one level")
        if ending == "nend":
            raise MalformedError("a layered stream must close its last level with LEVL before NEND")
        levels.pop()
    return LayeredFrames((major, minor), levels, "boundary" if ending == "level" else ending, cut_at)


def _split(buf: memoryview, frames: list[tuple[int, int, bytes]]) -> list[Level]:
    levels: list[Level] = []
    cur: Level | None = None
    for pos, n, raw in frames:
        ctype = bytes(raw).decode("ascii")
        if cur is None:
            cur = Level(start=pos if levels else 0)
        if ctype in LEVEL_CHUNKS:
            cur.chunks.append(Chunk(ctype, bytes(buf[pos + 8:pos + 8 + n])))
        elif ctype[0].isupper():
            raise UnknownChunkError(f"unknown critical chunk {ctype} at offset {pos}")
        else:
            cur.skipped.append(ctype)
        cur.end = pos + n + _OVERHEAD
        if ctype == LEVEL_TYPE:
            levels.append(cur)
            cur = None
            if len(levels) > MAX_LEVELS:
                raise LimitExceededError(f"more than {MAX_LEVELS} levels")
    if cur is not None:
        levels.append(cur)
    return levels
