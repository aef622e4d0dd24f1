"""Container framing, versioning, strict JSON and the binary Reader/Writer: round trips and every checker."""
from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nwcodec.bitstream import (DEFAULT_LIMITS, FORMAT_MAJOR, MAGIC, Chunk, Limits, Reader, Writer, chunk_crc, pack,
                               strict_json, unpack)
from nwcodec.errors import (ChecksumError, DuplicateNameError, LimitExceededError, MalformedError, TruncatedError,
                            UnknownChunkError, UnsupportedVersionError)

KNOWN = frozenset({"HEAD", "DATA", "meta"})


def frame(ctype: bytes, data: bytes, crc: int | None = None) -> bytes:
    """One hand-built chunk (optionally with a wrong CRC)."""
    crc = zlib.crc32(ctype + data) if crc is None else crc
    return struct.pack("<I", len(data)) + ctype + data + struct.pack("<I", crc)


def stream(*chunks: bytes, version: tuple[int, int] = (1, 0), end: bytes | None = None) -> bytes:
    """A hand-built stream; ``end`` replaces the NEND chunk (b"" omits it)."""
    return MAGIC + struct.pack("<HH", *version) + b"".join(chunks) + (frame(b"NEND", b"") if end is None else end)


# --- container -------------------------------------------------------------------------------------------------

def test_layout_is_byte_exact():
    data = pack([Chunk("HEAD", b"\x01\x02")])
    assert data == stream(frame(b"HEAD", b"\x01\x02"))
    assert data[:8] == b"\x89NWC\r\n\x1a\n" and data[8:12] == b"\x01\x00\x00\x00"
    assert data[-12:] == b"\x00\x00\x00\x00NEND" + struct.pack("<I", zlib.crc32(b"NEND"))
    assert chunk_crc("HEAD", b"\x01\x02") == zlib.crc32(b"HEAD\x01\x02")


def test_round_trip_keeps_order_and_accepts_all_buffer_types():
    chunks = [Chunk("HEAD", b"h"), Chunk("DATA", bytes(range(256))), Chunk("meta", b""), Chunk("DATA", b"2")]
    data = pack(chunks)
    for buf in (data, bytearray(data), memoryview(data)):
        c = unpack(buf, known=KNOWN)
        assert c.version == (1, 0) and c.chunks == chunks and c.skipped == []
        assert all(type(ch.data) is bytes for ch in c.chunks)


def test_unknown_ancillary_is_skipped_but_crc_checked():
    data = pack([Chunk("HEAD", b"h"), Chunk("zzAp", b"future"), Chunk("DATA", b"d")])
    c = unpack(data, known=KNOWN)
    assert [ch.type for ch in c.chunks] == ["HEAD", "DATA"] and c.skipped == ["zzAp"]
    bad = stream(frame(b"HEAD", b"h"), frame(b"zzAp", b"future", crc=0))
    with pytest.raises(ChecksumError):
        unpack(bad, known=KNOWN)


def test_unknown_critical_is_refused():
    with pytest.raises(UnknownChunkError, match="ZZAP"):
        unpack(pack([Chunk("HEAD", b""), Chunk("ZZAP", b"x")]), known=KNOWN)


def test_higher_minor_decodes_other_major_refused():
    chunks = [Chunk("HEAD", b"h"), Chunk("newA", b"added in 1.7")]
    c = unpack(pack(chunks, version=(1, 7)), known=KNOWN)
    assert c.version == (1, 7) and c.chunks == chunks[:1] and c.skipped == ["newA"]
    with pytest.raises(UnsupportedVersionError, match="1.7"):
        unpack(pack(chunks, version=(1, 7)), known=KNOWN, max_minor=0)
    for major in (0, 2, 0xFFFF):
        with pytest.raises(UnsupportedVersionError):
            unpack(pack(chunks, version=(major, 0)), known=KNOWN)
    assert FORMAT_MAJOR == 1


@pytest.mark.parametrize("data, error, match", [
    (stream(frame(b"HEAD", b"x"), end=b""), MalformedError, "without the NEND"),
    (stream(end=frame(b"NEND", b"x")), MalformedError, "must be empty"),
    (stream() + b"\x00", MalformedError, "after the NEND"),
    (stream(frame(b"HE1D", b"x")), MalformedError, "4 ASCII letters"),
    (stream(frame(b"HE\xc4D", b"x")), MalformedError, "4 ASCII letters"),
    (stream(frame(b"HEAD", b"x", crc=1)), ChecksumError, "CRC"),
    (stream(frame(b"HEAD", b"x"))[:-1], TruncatedError, "declares"),
    (stream(frame(b"HEAD", b"x"))[:-8], TruncatedError, "cut short"),
    (stream(frame(b"HEAD", b"x"))[:-14], TruncatedError, "declares 1 bytes"),
    (MAGIC + b"\x01\x00", TruncatedError, "version header"),
])
def test_each_checker(data, error, match):
    with pytest.raises(error, match=match):
        unpack(data, known=KNOWN)


def test_checks_run_class_by_class():
    """A checksum fault in chunk 1 is reported after a truncation later in the stream; a malformed type after CRC."""
    truncated_later = stream(frame(b"HEAD", b"x", crc=0), frame(b"DATA", b"abc"))[:-14]
    with pytest.raises(TruncatedError):
        unpack(truncated_later, known=KNOWN)
    with pytest.raises(ChecksumError):
        unpack(stream(frame(b"HEAD", b"x", crc=0), frame(b"H!AD", b"y")), known=KNOWN)
    with pytest.raises(MalformedError):  # structure faults are reported before an unknown critical chunk
        unpack(stream(frame(b"ZZZZ", b"")) + b"junk", known=KNOWN)


def test_limits_are_enforced_on_unpack_and_pack():
    data = pack([Chunk("DATA", b"x" * 100)] * 3)
    with pytest.raises(LimitExceededError, match="max_chunk_bytes"):
        unpack(data, known=KNOWN, limits=Limits(max_chunk_bytes=99))
    with pytest.raises(LimitExceededError, match="max_chunks"):
        unpack(data, known=KNOWN, limits=Limits(max_chunks=3))
    assert len(unpack(data, known=KNOWN, limits=Limits(max_chunks=4)).chunks) == 3
    with pytest.raises(LimitExceededError, match="max_total_bytes"):
        unpack(data, known=KNOWN, limits=Limits(max_total_bytes=len(data) - 1))
    for limits in (Limits(max_chunk_bytes=99), Limits(max_chunks=3), Limits(max_total_bytes=len(data) - 1)):
        with pytest.raises(LimitExceededError):
            pack([Chunk("DATA", b"x" * 100)] * 3, limits=limits)


def test_pack_refuses_bad_input():
    with pytest.raises(MalformedError, match="NEND"):
        pack([Chunk("NEND", b"")])
    for bad in ("HEA", "HEADS", "HE D", "HÉAD", "1EAD", b"HEAD"):
        with pytest.raises(MalformedError):
            Chunk(bad, b"")
    with pytest.raises(ValueError):
        pack([], version=(1, 70000))
    with pytest.raises(TypeError):
        pack([("HEAD", b"")])
    assert Chunk("HEAD", bytearray(b"ab")).data == b"ab" and Chunk("HEAD", b"").critical
    assert not Chunk("hEAD", b"").critical


chunk_types = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=4, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(chunk_types, st.binary(max_size=64)), max_size=8), st.integers(0, 0xFFFF))
def test_round_trip_property(items, minor):
    chunks = [Chunk(t, d) for t, d in items if t != "NEND"]
    known = frozenset(c.type for c in chunks if c.critical or hash(c.type) % 2)
    c = unpack(pack(chunks, version=(1, minor)), known=known)
    assert c.version == (1, minor)
    assert c.chunks == [ch for ch in chunks if ch.type in known]
    assert c.skipped == [ch.type for ch in chunks if ch.type not in known]


# --- strict JSON ----------------------------------------------------------------------------------------------

def test_json_round_trip_is_compact_and_ordered():
    obj = {"z": 1, "a": [1.5, -2, "ü€", None, True, {"k": []}], "m": {}}
    data = strict_json.dumps(obj)
    assert data == '{"z":1,"a":[1.5,-2,"ü€",null,true,{"k":[]}],"m":{}}'.encode()
    assert strict_json.loads(data) == obj and list(strict_json.loads(data)) == ["z", "a", "m"]


def test_json_dumps_refuses_what_loads_would_refuse():
    for bad in ({"x": float("nan")}, {"x": float("inf")}, {1: "a", "1": "b"}, {"a": [{2: 0}]}):
        with pytest.raises(ValueError):
            strict_json.dumps(bad)


@pytest.mark.parametrize("text, error", [
    (b'{"a":1,"a":2}', DuplicateNameError),
    (b'{"a":{"b":[{"c":1,"c":1}]}}', DuplicateNameError),
    (b'{"a":NaN}', MalformedError),
    (b'{"a":Infinity}', MalformedError),
    (b'{"a":-Infinity}', MalformedError),
    (b'{"a":1e400}', MalformedError),
    (b'{"a":"\xff"}', MalformedError),
    (b'\xef\xbb\xbf{}', MalformedError),
    (b'{"a":"\\ud800"}', MalformedError),
    (b'{"\\udc00":1}', MalformedError),
    (b'[1,2]', MalformedError),
    (b'"s"', MalformedError),
    (b'{} {}', MalformedError),
    (b'{"a":1,}', MalformedError),
    (b'{"a":"\x01"}', MalformedError),
    (b'{"a":' + b'9' * 5000 + b'}', MalformedError),
    (b'', MalformedError),
])
def test_json_rejects(text, error):
    with pytest.raises(error):
        strict_json.loads(text)


def test_json_depth_and_size_limits():
    limits = Limits(max_json_depth=3)
    assert strict_json.loads(b'{"a":[{"b":1}]}', limits) == {"a": [{"b": 1}]}
    with pytest.raises(LimitExceededError, match="depth 4"):
        strict_json.loads(b'{"a":[{"b":[]}]}', limits)
    assert strict_json.loads(b'{"a":"[[[[{{{{\\"[[["}', limits) == {"a": '[[[[{{{{"[[['}
    assert strict_json.loads(b'{"a":"\\\\"}', limits) == {"a": "\\"}
    with pytest.raises(LimitExceededError):
        strict_json.loads(b"{}" + b" " * DEFAULT_LIMITS.max_json_bytes)
    assert strict_json.loads(b'{"a":1}', Limits(max_json_bytes=7)) == {"a": 1}
    with pytest.raises(LimitExceededError):
        strict_json.loads(b'{"a":1}', Limits(max_json_bytes=6))


# --- binary Reader / Writer ------------------------------------------------------------------------------------

def test_reader_writer_round_trip():
    w = Writer()
    w.u8(255); w.u16(65535); w.u32(2**32 - 1); w.u64(2**64 - 1); w.i64(-2**63)
    for v in (0, 1, 127, 128, 300, 2**63, 2**64 - 1):
        w.uvarint(v)
    for v in (0, -1, 1, -64, 64, -2**63, 2**63 - 1):
        w.svarint(v)
    w.bytes(b"raw")
    w.array(np.arange(5, dtype=np.int64), "<u4")
    w.array(np.linspace(0, 1, 3), "<f4")
    r = Reader(w.getvalue())
    assert [r.u8(), r.u16(), r.u32(), r.u64(), r.i64()] == [255, 65535, 2**32 - 1, 2**64 - 1, -2**63]
    assert [r.uvarint() for _ in range(7)] == [0, 1, 127, 128, 300, 2**63, 2**64 - 1]
    assert [r.svarint() for _ in range(7)] == [0, -1, 1, -64, 64, -2**63, 2**63 - 1]
    assert bytes(r.bytes(3)) == b"raw"
    a = r.array("<u4", 5)
    assert a.dtype == np.dtype("<u4") and a.tolist() == [0, 1, 2, 3, 4] and a.flags.writeable
    assert r.array("<f4", 3).tolist() == [0.0, 0.5, 1.0]
    r.done()


def test_varint_encoding_is_leb128_zigzag():
    w = Writer()
    w.uvarint(300); w.svarint(-1); w.svarint(1); w.uvarint(2**64 - 1)
    assert w.getvalue() == b"\xac\x02" + b"\x01" + b"\x02" + b"\xff" * 9 + b"\x01"


@pytest.mark.parametrize("data, error, match", [
    (b"\x80\x00", MalformedError, "overlong"),
    (b"\xff" * 9 + b"\x02", MalformedError, "above 2\\*\\*64-1"),
    (b"\xff" * 10 + b"\x01", MalformedError, "longer than 10"),
    (b"\x80\x80", TruncatedError, "hdr: need 1 bytes at offset 2"),
])
def test_bad_varints(data, error, match):
    with pytest.raises(error, match=match):
        Reader(data, what="hdr").uvarint()


def test_reader_bounds():
    r = Reader(b"\x01\x02\x03", what="TNSR")
    with pytest.raises(TruncatedError, match="TNSR"):
        r.u32()
    assert r.remaining() == 3 and r.u16() == 0x0201
    with pytest.raises(MalformedError, match="1 trailing"):
        r.done()
    with pytest.raises(TruncatedError):
        Reader(b"").u8()
    with pytest.raises(TruncatedError):
        Reader(b"\x00" * 16).array("<f8", 2**60)  # refused by size, nothing allocated
    with pytest.raises(MalformedError):
        Reader(b"").bytes(-1)
    with pytest.raises(ValueError):
        Reader(b"\x00" * 8).array(">f4", 1)


def test_writer_refuses_values_that_do_not_fit():
    w = Writer()
    for call, v in ((w.u8, 256), (w.u16, -1), (w.u32, 2**32), (w.u64, 2**64), (w.i64, 2**63),
                    (w.uvarint, -1), (w.uvarint, 2**64), (w.svarint, 2**63)):
        with pytest.raises(ValueError):
            call(v)
    with pytest.raises(ValueError):
        w.array(np.array([-1]), "<u4")
    with pytest.raises(ValueError):
        w.array(np.array([2**40]), "<i4")
    with pytest.raises(ValueError):
        w.array(np.array([0.5]), "<i4")
    assert w.getvalue() == b""


ops = st.lists(st.one_of(
    st.tuples(st.just("u8"), st.integers(0, 2**8 - 1)), st.tuples(st.just("u16"), st.integers(0, 2**16 - 1)),
    st.tuples(st.just("u32"), st.integers(0, 2**32 - 1)), st.tuples(st.just("u64"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("i64"), st.integers(-2**63, 2**63 - 1)),
    st.tuples(st.just("uvarint"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("svarint"), st.integers(-2**63, 2**63 - 1))), max_size=20)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_writer_reader_property(seq):
    w = Writer()
    for name, v in seq:
        getattr(w, name)(v)
    r = Reader(w.getvalue())
    assert [getattr(r, name)() for name, _ in seq] == [v for _, v in seq]
    r.done()


def test_receiver_modules_do_not_import_torch():
    code = "import sys, nwcodec.bitstream; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
