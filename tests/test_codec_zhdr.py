"""Format 1.1 compressed header (ZHDR): smaller streams, bounded inflation, typed faults."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import nwcodec
from nwcodec.bitstream import Chunk, Limits, Writer, pack, unpack
from nwcodec.codec import parse
from nwcodec.codec.decoder import KNOWN_CHUNKS

STATE = {f"layer{i}.{k}": np.random.default_rng(i).normal(0, 1, (8, 8) if k == "weight" else 8).astype(np.float32)
         for i in range(12) for k in ("weight", "bias")}


def _zhdr(payload: bytes) -> bytes:
    chunks = unpack(nwcodec.encode(STATE), known=KNOWN_CHUNKS).chunks
    assert chunks[0].type == "ZHDR"
    return pack([Chunk("ZHDR", payload), *chunks[1:]], version=(1, 1))


def _payload(n: int, body: bytes) -> bytes:
    w = Writer()
    w.uvarint(n)
    w.bytes(body)
    return w.getvalue()


def test_compressed_header_is_smaller_and_decodes_identically() -> None:
    z, plain = nwcodec.encode(STATE), nwcodec.encode(STATE, compress_header=False)
    assert len(z) < len(plain)
    assert parse(z).version == (1, 1) and parse(plain).version == (1, 0)
    a, b = nwcodec.decode(z), nwcodec.decode(plain)
    assert list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)
    from nwcodec.codec.digest import tensor_digest
    from tests import independent

    assert tensor_digest(a) == independent.digest(independent.decode(z))   # not only the package against itself
    assert parse(z).header == parse(plain).header


def test_old_decoder_refuses_zhdr_by_name() -> None:
    with pytest.raises(nwcodec.UnknownChunkError, match="ZHDR"):
        unpack(nwcodec.encode(STATE), known=KNOWN_CHUNKS - {"ZHDR"})


def test_zhdr_faults_are_typed() -> None:
    head = parse(nwcodec.encode(STATE, compress_header=False)).header
    from nwcodec.bitstream import strict_json

    js = strict_json.dumps(head)
    good = _payload(len(js), zlib.compress(js))
    assert nwcodec.decode(_zhdr(good))
    with pytest.raises(nwcodec.MalformedError):
        parse(_zhdr(_payload(len(js) - 1, zlib.compress(js))))      # inflates to more than declared
    with pytest.raises(nwcodec.MalformedError):
        parse(_zhdr(_payload(len(js) + 1, zlib.compress(js))))      # to fewer
    with pytest.raises(nwcodec.MalformedError):
        parse(_zhdr(_payload(len(js), b"not zlib at all")))
    with pytest.raises(nwcodec.MalformedError):
        parse(_zhdr(_payload(len(js), zlib.compress(js) + b"tail")))
    with pytest.raises(nwcodec.LimitExceededError):
        parse(_zhdr(_payload(1 << 40, zlib.compress(js))))


def test_zhdr_bomb_is_bounded() -> None:
    bomb = zlib.compress(b" " * (64 << 20), 9)      # 64 MiB of spaces in ~64 KB
    with pytest.raises(nwcodec.BitstreamError):
        parse(_zhdr(_payload(100, bomb)), Limits(max_json_bytes=1 << 20))
