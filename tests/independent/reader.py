"""Bounds-checked little-endian reader and LEB128 varints (FORMAT.md section 4)."""
from __future__ import annotations

import numpy as np

from .errors import MalformedError, TruncatedError


class Reader:
    """Reads fields from ``data``; every read is checked against the bytes left."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n < 0 or n > self.left():
            raise TruncatedError(f"{self.what}: needs {n} bytes at offset {self.pos}, {self.left()} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "little")

    def array(self, dtype: str, count: int) -> np.ndarray:
        item = np.dtype(dtype).itemsize
        if count < 0 or count * item > self.left():
            raise TruncatedError(f"{self.what}: array of {count} x {item} bytes runs past the end")
        return np.frombuffer(self.take(count * item), dtype=dtype).copy()

    def uvarint(self) -> int:
        value = 0
        for i in range(10):
            if self.pos >= len(self.data):
                raise TruncatedError(f"{self.what}: data ends inside a varint")
            b = self.data[self.pos]
            self.pos += 1
            value |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                if i and b == 0:
                    raise MalformedError(f"{self.what}: overlong varint")
                if value >= 1 << 64:
                    raise MalformedError(f"{self.what}: varint above 2^64-1")
                return value
        raise MalformedError(f"{self.what}: varint longer than 10 bytes")

    def svarint(self) -> int:
        u = self.uvarint()
        return (u >> 1) ^ -(u & 1)

    def done(self) -> None:
        if self.left():
            raise MalformedError(f"{self.what}: {self.left()} bytes left over")
