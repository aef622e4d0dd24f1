"""Bounds-checked little-endian reader and writer for chunk payloads (integers, LEB128 varints, arrays)."""
from __future__ import annotations

import struct

import numpy as np

from nwcodec.errors import MalformedError, TruncatedError

_U64_MAX = 2**64 - 1
_VARINT_MAX_BYTES = 10
_FIXED = {"u8": struct.Struct("<B"), "u16": struct.Struct("<H"), "u32": struct.Struct("<I"),
          "u64": struct.Struct("<Q"), "i64": struct.Struct("<q")}


def _wire_dtype(dtype: str) -> np.dtype:
    """A numeric, little-endian (or single-byte) dtype; anything else is a programming error."""
    dt = np.dtype(dtype)
    if dt.kind not in "iuf" or dt != dt.newbyteorder("<"):
        raise ValueError(f"unsupported wire dtype {dtype!r} (need a little-endian numeric dtype)")
    return dt


class Reader:
    """Reads from a buffer; every read is checked against the bytes that remain."""

    def __init__(self, data: bytes | bytearray | memoryview, what: str = "chunk") -> None:
        self._buf = memoryview(data).cast("B")
        self._pos = 0
        self._what = what

    def _take(self, n: int) -> memoryview:
        if n < 0:
            raise MalformedError(f"{self._what}: negative length {n} at offset {self._pos}")
        if n > len(self._buf) - self._pos:
            raise TruncatedError(f"{self._what}: need {n} bytes at offset {self._pos}, "
                                 f"only {len(self._buf) - self._pos} left")
        view = self._buf[self._pos:self._pos + n]
        self._pos += n
        return view

    def _fixed(self, name: str) -> int:
        s = _FIXED[name]
        return s.unpack(self._take(s.size))[0]

    def u8(self) -> int:
        return self._fixed("u8")

    def u16(self) -> int:
        return self._fixed("u16")

    def u32(self) -> int:
        return self._fixed("u32")

    def u64(self) -> int:
        return self._fixed("u64")

    def i64(self) -> int:
        return self._fixed("i64")

    def uvarint(self) -> int:
        """Unsigned LEB128, at most 10 bytes; rejects overlong encodings and values above 2**64-1."""
        start, value = self._pos, 0
        for i in range(_VARINT_MAX_BYTES):
            byte = self._take(1)[0]
            value |= (byte & 0x7F) << (7 * i)
            if byte < 0x80:
                if byte == 0 and i > 0:
                    raise MalformedError(f"{self._what}: overlong varint at offset {start}")
                if value > _U64_MAX:
                    raise MalformedError(f"{self._what}: varint above 2**64-1 at offset {start}")
                return value
        raise MalformedError(f"{self._what}: varint longer than {_VARINT_MAX_BYTES} bytes at offset {start}")

    def svarint(self) -> int:
        """Zigzag-mapped LEB128: 0,-1,1,-2,... <- 0,1,2,3,..."""
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def bytes(self, n: int) -> memoryview:
        """The next ``n`` bytes as a zero-copy view."""
        return self._take(n)

    def array(self, dtype: str, count: int) -> np.ndarray:
        """``count`` items of ``dtype`` as a writable copy; size is checked before allocating."""
        dt = _wire_dtype(dtype)
        if count < 0:
            raise MalformedError(f"{self._what}: negative array count {count} at offset {self._pos}")
        view = self._take(count * dt.itemsize)
        return np.frombuffer(view, dtype=dt, count=count).copy()

    def rewind(self, n: int) -> None:
        """Step back ``n`` bytes (un-read the tail of the last read)."""
        if not 0 <= n <= self._pos:
            raise ValueError(f"cannot rewind {n} bytes at offset {self._pos}")
        self._pos -= n

    @property
    def position(self) -> int:
        """Offset of the next byte to read."""
        return self._pos

    def remaining(self) -> int:
        return len(self._buf) - self._pos

    def done(self) -> None:
        """Assert the whole buffer was consumed."""
        if self.remaining():
            raise MalformedError(f"{self._what}: {self.remaining()} trailing bytes at offset {self._pos}")


class Writer:
    """Accumulates little-endian fields; refuses values that do not fit their field (ValueError)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def _fixed(self, name: str, v: int) -> None:
        try:
            self._buf += _FIXED[name].pack(v)
        except struct.error as exc:
            raise ValueError(f"{v!r} does not fit {name}") from exc

    def u8(self, v: int) -> None:
        self._fixed("u8", v)

    def u16(self, v: int) -> None:
        self._fixed("u16", v)

    def u32(self, v: int) -> None:
        self._fixed("u32", v)

    def u64(self, v: int) -> None:
        self._fixed("u64", v)

    def i64(self, v: int) -> None:
        self._fixed("i64", v)

    def uvarint(self, v: int) -> None:
        v = int(v)
        if not 0 <= v <= _U64_MAX:
            raise ValueError(f"{v} does not fit an unsigned varint (0..2**64-1)")
        while v >= 0x80:
            self._buf.append((v & 0x7F) | 0x80)
            v >>= 7
        self._buf.append(v)

    def svarint(self, v: int) -> None:
        v = int(v)
        if not -(2**63) <= v < 2**63:
            raise ValueError(f"{v} does not fit a signed varint (-2**63..2**63-1)")
        self.uvarint((v << 1) ^ (v >> 63))

    def bytes(self, b: bytes | bytearray | memoryview) -> None:
        self._buf += b

    def array(self, a: np.ndarray, dtype: str) -> None:
        """Append ``a`` (C order) as ``dtype``; integer targets must hold every value exactly."""
        dt = _wire_dtype(dtype)
        src = np.asarray(a)
        out = np.ascontiguousarray(src, dtype=dt)
        if dt.kind in "iu" and not np.can_cast(src.dtype, dt, "safe") and not np.array_equal(out, src):
            raise ValueError(f"array values do not fit {dtype}")
        self._buf += out.tobytes()

    def getvalue(self) -> bytes:
        return bytes(self._buf)
