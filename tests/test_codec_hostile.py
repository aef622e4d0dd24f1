"""Hostile weight streams: truncation, CRC-consistent corruption, forged headers. Every fault must be a
specific BitstreamError subclass; nothing may crash, hang or allocate from a forged size."""
from __future__ import annotations

import json
import math
import random
import struct
import time

import numpy as np
import pytest

from nwcodec import (BitstreamError, DuplicateNameError, LimitExceededError, MalformedError, TruncatedError,
                     UnknownChunkError, UnsupportedVersionError, decode, encode)
from nwcodec.bitstream import Chunk, chunk_crc, pack, strict_json, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS


def _stream() -> bytes:
    rng = np.random.default_rng(7)
    w = rng.laplace(0, 0.1, (12, 10)).astype(np.float32)
    w[0, 0] = 50.0                                                    # an escape
    state = {"q": w, "pc": rng.normal(0, 1, (4, 16)).astype(np.float32),
             "b": rng.choice(np.float32([0.5, -1.25, 3.0]), 300),  # bytes coding
             "n": np.array(3, dtype=np.int64), "m": np.array([True, False])}
    data = encode(state, rel_error=0.05, segment_size=50, notes=["n"], compress_header=False,
                  policy=lambda name, a: {"b": "lossless", "n": "raw", "m": "raw"}.get(name, "quant"))
    codings = [t["coding"] for t in strict_json.loads(_chunks(data)[0].data)["tensors"]]
    assert {"quant", "bytes", "raw"} <= set(codings)
    return data


def _chunks(data: bytes) -> list[Chunk]:
    return unpack(data, known=KNOWN_CHUNKS | {"zzzz"}).chunks


STREAM = _stream()
GOOD = decode(STREAM)
SHAPES = {k: v.shape for k, v in GOOD.items()}


def _with_head(edit) -> bytes:
    chunks = _chunks(STREAM)
    head = json.loads(chunks[0].data)
    edit(head)
    chunks[0] = Chunk("HEAD", strict_json.dumps(head))
    return pack(chunks)


def test_every_truncation_is_a_bitstream_error() -> None:
    for n in range(len(STREAM)):
        with pytest.raises(BitstreamError):
            decode(STREAM[:n])


def test_crc_consistent_corruption_never_crashes() -> None:
    """Damage one chunk payload, recompute its CRC: BitstreamError or arrays of the declared shapes."""
    rng = random.Random(1234)
    chunks = _chunks(STREAM)
    ok = errors = 0
    start = time.perf_counter()
    for _ in range(2000):
        i = rng.randrange(len(chunks))
        data = bytearray(chunks[i].data)
        if not data:
            continue
        for _ in range(rng.choice((1, 1, 2, 4))):
            pos = rng.randrange(len(data))
            data[pos] = rng.randrange(256) if rng.random() < 0.5 else data[pos] ^ (1 << rng.randrange(8))
        damaged = chunks[:i] + [Chunk(chunks[i].type, bytes(data))] + chunks[i + 1:]
        try:
            out = decode(pack(damaged))
        except BitstreamError:
            errors += 1
            continue
        ok += 1
        head = strict_json.loads(damaged[0].data)
        assert {k: v.shape for k, v in out.items()} == {t["name"]: tuple(t["shape"]) for t in head["tensors"]}
    assert errors > 500 and ok > 50
    assert time.perf_counter() - start < 30


def _set(tensor: str, key: str, value):
    def edit(h: dict) -> None:
        next(t for t in h["tensors"] if t["name"] == tensor)[key] = value
    return edit


def _tensor(name: str) -> dict:
    return next(t for t in json.loads(_chunks(STREAM)[0].data)["tensors"] if t["name"] == name)


@pytest.mark.parametrize("edit,err", [
    (_set("pc", "name", "q"), DuplicateNameError),
    (_set("q", "shape", [1 << 20, 1 << 20]), LimitExceededError),
    (_set("q", "shape", [1 << 20, 1 << 20, 1 << 20]), LimitExceededError),
    (_set("q", "shape", [1 << 10] * 4), LimitExceededError),            # 2**40 elements
    (_set("q", "shape", [2] * 9), LimitExceededError),                  # too many dims
    (_set("q", "shape", [1 << 16, 1 << 16]), LimitExceededError),       # expansion guard (2^32 from a few KB)
    (_set("q", "shape", [-12, 10]), MalformedError),
    (_set("q", "shape", [12.0, 10]), MalformedError),
    (_set("q", "table", 99), MalformedError),
    (_set("q", "table", -1), MalformedError),
    (_set("q", "axis", 2), MalformedError),
    (_set("n", "dtype", "complex64"), MalformedError),
    (_set("q", "dtype", "int32"), MalformedError),                      # quant needs a float dtype
    (_set("q", "coding", "zip"), MalformedError),
    (_set("q", "extra", 1), MalformedError),
    (_set("b", "tables", [0, 1]), MalformedError),                      # float32 needs 4 planes
    (_set("q", "shape", [6, 10]), LimitExceededError),                  # segments hold more symbols
    (_set("q", "shape", [12, 11]), MalformedError),                     # segments hold fewer
    (_set("n", "shape", [2]), BitstreamError),                          # raw payload too short
    (_set("q", "name", ""), MalformedError),
    (lambda h: h.update(tables=h["tables"] + 1), MalformedError),
    (lambda h: h.update(kind="movie"), MalformedError),
    (lambda h: h.pop("tensors"), MalformedError),
    (lambda h: h.update(tensors={}), MalformedError),
    (lambda h: h["tensors"].reverse(), MalformedError),                 # header order ≠ payloads
])
def test_header_attacks(edit, err: type) -> None:
    data = _with_head(edit)
    start = time.perf_counter()
    with pytest.raises(err):
        decode(data)
    assert time.perf_counter() - start < 1.0


def test_unknown_optional_header_keys_are_ignored() -> None:
    out = decode(_with_head(lambda h: h.update(future={"x": 1}, meta={"a": [1]})))
    assert all(out[k].tobytes() == GOOD[k].tobytes() for k in GOOD)


def _retyped(i: int, data: bytes) -> list[Chunk]:
    chunks = _chunks(STREAM)
    chunks[i] = Chunk(chunks[i].type, data)
    return chunks


def test_structural_attacks() -> None:
    chunks = _chunks(STREAM)
    types = [c.type for c in chunks]
    first_tens, first_tabl = types.index("TENS"), types.index("TABL")
    cases = [
        (chunks[:first_tens] + chunks[first_tens + 1:], MalformedError),              # missing TENS
        (chunks[:first_tens] + [chunks[first_tabl]] + chunks[first_tens:], MalformedError),  # extra TABL
        (chunks[:first_tens] + [chunks[first_tens]] + chunks[first_tens:], MalformedError),  # extra TENS
        ([chunks[first_tabl]] + chunks, MalformedError),                               # TABL before HEAD
        (chunks + [chunks[0]], MalformedError),                                        # second HEAD
        (chunks[:1] + [Chunk("SIZE", b"\x01")] + chunks[1:], UnknownChunkError),
        (chunks + [Chunk("note", b"\xff\xfe")], MalformedError),                       # note not UTF-8
        (_retyped(first_tabl, b"\x09\x00\x01\x00"), MalformedError),                   # unknown table kind
        (_retyped(first_tens, b"\x05" + chunks[first_tens].data[1:]), MalformedError),  # wrong TENS index
        (_retyped(first_tens, chunks[first_tens].data + b"\x00"), MalformedError),     # trailing bytes
    ]
    for forged, err in cases:
        with pytest.raises(err):
            decode(pack(forged))
    with pytest.raises(UnsupportedVersionError):
        decode(pack(chunks, version=(2, 0)))


def test_unknown_ancillary_chunks_do_not_change_the_result() -> None:
    chunks = _chunks(STREAM)
    for pos in range(1, len(chunks) + 1):
        data = pack(chunks[:pos] + [Chunk("zzzz", b"\x00" * pos)] + chunks[pos:], version=(1, 7))
        out = decode(data)
        assert list(out) == list(GOOD) and all(out[k].tobytes() == GOOD[k].tobytes() for k in GOOD)


def test_forged_segment_counts() -> None:
    """Segment headers that claim absurd symbol, word or segment counts."""
    chunks = _chunks(STREAM)
    i = [c.type for c in chunks].index("TENS")  # tensor 0 ("q"), quant, per tensor: idx, f32 step, segments
    body = chunks[i].data
    assert body[0] == 0
    for tail, err in [(b"\x00", MalformedError),                                   # zero segments
                      (b"\xff\xff\x7f", MalformedError),                           # 2**21 - 1 segments
                      (b"\x01\xff\xff\xff\x0f\x00\x00", LimitExceededError),       # 2**32 - 1 symbols
                      (b"\x01\x78\xff\xff\xff\x0f\x00", TruncatedError),           # words beyond the data
                      (b"\x01\x78\x01\x00\x00\x00\x00\x00", MalformedError)]:     # ends in a zero word
        with pytest.raises(err):
            decode(pack(_retyped(i, body[:5] + tail)))
    # 120 symbols and no words is the empty coder (state 0): every symbol is table index 0 — valid.
    out = decode(pack(_retyped(i, body[:5] + b"\x01\x78\x00\x00")))["q"]
    step = struct.unpack("<f", body[1:5])[0]
    assert math.prod(SHAPES["q"]) == 120 and out.shape == SHAPES["q"] and len(set(out.ravel().tolist())) == 1
    assert out.flat[0] == np.float32(round(out.flat[0] / step)) * np.float32(step)


def test_chunk_crc_helper_matches_stream() -> None:
    assert STREAM[-4:] == struct.pack("<I", chunk_crc("NEND", b""))
