"""Hostile input: truncation, bit flips, forged lengths, bad magic, deep/duplicate/NaN JSON, fuzzed readers.

Every fault must surface as a BitstreamError subclass, never as another exception, a hang or a big allocation.
"""
from __future__ import annotations

import random
import struct
import time
import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nwcodec.bitstream import MAGIC, Chunk, Limits, Reader, pack, strict_json, unpack
from nwcodec.errors import (BadMagicError, BitstreamError, DuplicateNameError, LimitExceededError, MalformedError,
                            TruncatedError, UnknownChunkError, UnsupportedVersionError)

KNOWN = frozenset({"HEAD", "DATA", "meta"})
CHUNKS = [Chunk("HEAD", strict_json.dumps({"n": 1, "name": "w"})), Chunk("meta", b"\x00\x01\x02"),
          Chunk("zkip", b"ancillary"), Chunk("DATA", bytes(range(40)))]
STREAM = pack(CHUNKS)
MINOR_FIELD = range(10, 12)  # the only bytes not protected by a magic, version or CRC check


def chunk_boundaries(data: bytes) -> set[int]:
    """Offsets at which a chunk starts (the NEND chunk included)."""
    pos, out = 12, set()
    while pos < len(data):
        out.add(pos)
        pos += struct.unpack_from("<I", data, pos)[0] + 12
    return out


def test_truncation_at_every_byte_raises_the_right_error():
    boundaries = chunk_boundaries(STREAM)
    for cut in range(len(STREAM)):
        expected = (BadMagicError if cut < 8 else TruncatedError if cut < 12
                    else MalformedError if cut in boundaries else TruncatedError)
        with pytest.raises(BitstreamError) as info:
            unpack(STREAM[:cut], known=KNOWN)
        assert type(info.value) is expected, (cut, info.value)
    assert unpack(STREAM, known=KNOWN).chunks == [c for c in CHUNKS if c.type in KNOWN]


def test_random_bit_flips_are_detected():
    rng = random.Random(1234)
    reference = unpack(STREAM, known=KNOWN)
    decoded_ok = 0
    for _ in range(3000):
        damaged = bytearray(STREAM)
        positions = [rng.randrange(len(STREAM)) for _ in range(rng.randint(1, 3))]
        for pos in positions:
            damaged[pos] ^= 1 << rng.randrange(8)
        try:
            result = unpack(bytes(damaged), known=KNOWN)
        except BitstreamError:
            continue
        # Only the minor version is unchecked by design; any other accepted change is a bug.
        changed = {i for i in range(len(STREAM)) if damaged[i] != STREAM[i]}
        assert changed <= set(MINOR_FIELD), positions
        assert result.chunks == reference.chunks and result.skipped == reference.skipped
        decoded_ok += 1
    assert decoded_ok < 100  # the minor field is 2 of ~150 bytes


def test_random_splices_raise_only_bitstream_errors():
    rng = random.Random(99)
    for _ in range(2000):
        data = bytearray(STREAM)
        pos = rng.randrange(12, len(data))
        kind = rng.randrange(3)
        if kind == 0:
            del data[pos:pos + rng.randint(1, 8)]
        elif kind == 1:
            data[pos:pos] = rng.randbytes(rng.randint(1, 8))
        else:
            data[pos:pos + 4] = rng.randbytes(4)
        if bytes(data) == STREAM:
            continue
        with pytest.raises(BitstreamError):
            unpack(bytes(data), known=KNOWN)


@pytest.mark.parametrize("data", [
    b"", b"\x89", b"\x89NWC\r\n\x1a", b"\x89PNG\r\n\x1a\n" + STREAM[8:],
    b"\x09NWC\r\n\x1a\n" + STREAM[8:],           # high bit stripped by a 7-bit channel
    b"\x89NWC\n\x1a\n" + STREAM[8:],             # CRLF -> LF conversion
    b"\x89NWC\r\r\n\x1a\n" + STREAM[8:],         # LF -> CRLF conversion
    b"NWC1" + STREAM, b"{}", STREAM[1:],
])
def test_wrong_magic(data):
    with pytest.raises(BadMagicError):
        unpack(data, known=KNOWN)


def test_future_major_is_refused_before_anything_else():
    future = MAGIC + struct.pack("<HH", 2, 0) + b"\xff" * 40  # garbage chunks must not matter
    with pytest.raises(UnsupportedVersionError, match="major version 2"):
        unpack(future, known=KNOWN)


@pytest.mark.parametrize("declared", [0xFFFFFFFF, 2**31 + 1, 2**31, 10**9])
def test_huge_declared_length_fails_fast_without_allocating(declared):
    tiny = MAGIC + struct.pack("<HH", 1, 0) + struct.pack("<I", declared) + b"DATA" + b"\x00" * 8
    for limits, error in ((Limits(), (LimitExceededError, TruncatedError)),
                          (Limits(max_chunk_bytes=2**32), TruncatedError)):
        tracemalloc.start()
        start = time.perf_counter()
        with pytest.raises(error):
            unpack(tiny, known=KNOWN, limits=limits)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert elapsed < 0.05 and peak < 1 << 20, (elapsed, peak)
    with pytest.raises(LimitExceededError):
        unpack(MAGIC + b"\x01\x00\x00\x00" + b"\xff\xff\xff\xffDATA", known=KNOWN)


def test_many_tiny_chunks_stop_at_the_count_limit():
    empty = struct.pack("<I", 0) + b"zzzz" + struct.pack("<I", zlib.crc32(b"zzzz"))
    data = MAGIC + b"\x01\x00\x00\x00" + empty * 5000
    start = time.perf_counter()
    with pytest.raises(LimitExceededError, match="max_chunks=100"):
        unpack(data, known=KNOWN, limits=Limits(max_chunks=100))
    assert time.perf_counter() - start < 0.05


def test_unknown_critical_chunk():
    with pytest.raises(UnknownChunkError):
        unpack(pack([*CHUNKS, Chunk("EVIL", b"")]), known=KNOWN)


def test_hostile_json():
    with pytest.raises(DuplicateNameError):
        strict_json.loads(b'{"w":{"shape":[1],"shape":[2]}}')
    for text in (b"[" * 100000, b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}", b"{" * 100000):
        start = time.perf_counter()
        with pytest.raises(LimitExceededError):
            strict_json.loads(text)
        assert time.perf_counter() - start < 1.0
    for text in (b'{"a":NaN}', b'{"a":[1,-Infinity]}', b'{"a":{"b":Infinity}}'):
        with pytest.raises(MalformedError, match="not allowed"):
            strict_json.loads(text)


readers = st.lists(st.sampled_from(["u8", "u16", "u32", "u64", "i64", "uvarint", "svarint", "bytes", "array",
                                    "done"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64), readers, st.integers(-4, 2**40))
def test_reader_on_random_bytes_raises_only_bitstream_errors(data, calls, n):
    r = Reader(data, what="fuzz")
    try:
        for name in calls:
            if name == "bytes":
                r.bytes(n)
            elif name == "array":
                r.array("<f4", n)
            else:
                getattr(r, name)()
    except BitstreamError:
        pass
    assert 0 <= r.remaining() <= len(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_unpack_on_random_bytes_raises_only_bitstream_errors(tail):
    for data in (tail, MAGIC + b"\x01\x00\x00\x00" + tail):
        try:
            unpack(data, known=KNOWN)
        except BitstreamError:
            pass


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=60), st.text(alphabet='{}[]",:\\ue0.-+1aNI', max_size=60).map(str.encode)))
def test_json_on_random_input_raises_only_bitstream_errors(data):
    try:
        assert isinstance(strict_json.loads(data, Limits(max_json_depth=4)), dict)
    except BitstreamError:
        pass
