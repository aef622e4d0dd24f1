"""Chunk walker and CRC repair: a mutant's chunks are re-framed with correct CRCs so the mutation reaches
the layers behind the container (plain corruption is always caught by the CRCs)."""
from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass, field

MAGIC = b"\x89NWC\r\n\x1a\n"


@dataclass
class Stream:
    """A stream as ``version`` + ``[type, data]`` chunks (NEND included) + bytes after the last frame."""

    version: tuple[int, int]
    chunks: list[list]          # [type bytes (4), data bytes]
    tail: bytes = b""
    magic: bytes = MAGIC
    extra: dict = field(default_factory=dict)

    def copy(self) -> "Stream":
        return Stream(self.version, [[t, d] for t, d in self.chunks], self.tail, self.magic, dict(self.extra))

    def find(self, ctype: bytes) -> list[int]:
        return [i for i, (t, _) in enumerate(self.chunks) if t == ctype]

    def header_index(self) -> int | None:
        idx = self.find(b"HEAD") + self.find(b"ZHDR")
        return min(idx) if idx else None


def split(data: bytes) -> Stream:
    """Walk the frames of a well-formed stream (the vectors fuzzed are valid)."""
    assert data[:8] == MAGIC, "not an nwcodec stream"
    version = struct.unpack_from("<HH", data, 8)
    pos, chunks = 12, []
    while pos + 8 <= len(data):
        n, t = struct.unpack_from("<I4s", data, pos)
        if pos + 12 + n > len(data):
            break
        chunks.append([t, bytes(data[pos + 8:pos + 8 + n])])
        pos += 12 + n
        if t == b"NEND":
            break
    return Stream(tuple(version), chunks, bytes(data[pos:]))


def join(s: Stream, fix_crc: bool = True) -> bytes:
    """Frame ``s`` again; CRCs recomputed (``fix_crc``) so that only the mutation itself is seen."""
    parts = [s.magic, struct.pack("<HH", *s.version)]
    for t, d in s.chunks:
        crc = zlib.crc32(d, zlib.crc32(t)) if fix_crc else 0
        parts += [struct.pack("<I4s", len(d), t), d, struct.pack("<I", crc)]
    parts.append(s.tail)
    return b"".join(parts)


def uvarint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); raises ValueError on a cut varint."""
    v = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("cut varint")
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, pos


def svarint(v: int) -> bytes:
    return uvarint((v << 1) ^ (v >> 63) if v >= 0 else ((-v) << 1) - 1)


def header_text(s: Stream) -> bytes | None:
    """The header JSON bytes (ZHDR inflated)."""
    i = s.header_index()
    if i is None:
        return None
    t, d = s.chunks[i]
    if t == b"HEAD":
        return d
    _, pos = read_uvarint(d, 0)
    return zlib.decompress(d[pos:])


def header(s: Stream) -> dict | None:
    text = header_text(s)
    return None if text is None else json.loads(text)


def set_header_text(s: Stream, text: bytes) -> None:
    """Replace the header JSON, keeping its chunk type (ZHDR recompressed)."""
    i = s.header_index()
    if i is None:
        return
    if s.chunks[i][0] == b"HEAD":
        s.chunks[i][1] = text
    else:
        s.chunks[i][1] = uvarint(len(text)) + zlib.compress(text, 9)


def set_header(s: Stream, h: dict) -> None:
    set_header_text(s, json.dumps(h, separators=(",", ":"), allow_nan=True).encode())
