"""Layered streams (format 1.4, FORMAT.md 6.19): committed vectors per level, prefixes, truncation at every
byte, hostile LEVL contents, refusal by older decoders, CLI ``--level`` and ``info``."""
from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import nwcodec
from nwcodec import decode, parse
from nwcodec.bitstream import Chunk, pack, strict_json
from nwcodec.cli import main
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.levels import parse_layered
from nwcodec.codec.levels_encode import LevelSpec, encode_layered
from nwcodec.errors import (BitstreamError, ChecksumError, IncompleteLevelError, InputError, MalformedError,
                            TruncatedError, UnknownChunkError)
from tests.independent import decode as independent_decode
from tests.independent import digest
from tests.independent.layered import decode_level

VECTORS = Path(__file__).resolve().parents[1] / "bitstreams" / "layered"
NAMES = sorted(p.stem for p in VECTORS.glob("*.nwc"))


def _levels(name: str) -> list[tuple[int, int, str]]:
    return [(int(k), int(e), h) for k, e, h in (ln.split() for ln in (VECTORS / f"{name}.levels").read_text().splitlines())]


def _data(name: str) -> bytes:
    return (VECTORS / f"{name}.nwc").read_bytes()


def test_vectors_present() -> None:
    assert {"small", "mixed"} <= set(NAMES)
    assert {p.stem for p in VECTORS.glob("*.levels")} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_level_matches_its_committed_digest(name: str) -> None:
    data = _data(name)
    levels = _levels(name)
    assert [(lv.index, lv.end) for lv in parse_layered(data).levels] == [(k, e) for k, e, _ in levels]
    for k, end, want in levels:
        assert tensor_digest(decode(data, level=k)) == want
        assert tensor_digest(decode(data[:end])) == want          # the prefix stands alone
    assert tensor_digest(decode(data)) == levels[-1][2]


@pytest.mark.parametrize("name", NAMES)
def test_independent_decoder_matches_committed_digests(name: str) -> None:
    data = _data(name)
    for k, end, want in _levels(name):
        assert digest(decode_level(data, k)) == want
        assert digest(decode_level(data[:end])) == want


def test_truncation_at_every_byte() -> None:
    data = _data("small")
    levels = _levels("small")
    ends = {e: h for _, e, h in levels}
    for n in range(len(data) + 1):
        cut = data[:n]
        for k, end, want in levels:
            if n >= end:
                assert tensor_digest(decode(cut, level=k)) == want, (n, k)
            else:
                with pytest.raises(BitstreamError):
                    decode(cut, level=k)
                if n >= 12:
                    with pytest.raises(IncompleteLevelError):
                        decode(cut, level=k)
        if n in ends or n == len(data):
            assert tensor_digest(decode(cut)) == ends.get(n, levels[-1][2])
        else:
            with pytest.raises(TruncatedError if n >= levels[0][1] else BitstreamError):
                decode(cut)   # before level 0 is whole the data is just a broken stream


def test_older_decoders_refuse_by_name() -> None:
    data = _data("small")
    with pytest.raises(UnknownChunkError, match="LEVL"):
        parse(data)
    with pytest.raises(Exception, match="LEVL") as info:
        independent_decode(data)
    assert type(info.value).__name__ == "UnknownChunkError"


def _relevel(data: bytes, k: int, edit) -> bytes:
    """``data`` with level ``k``'s LEVL JSON replaced by ``edit(json)`` (CRC recomputed)."""
    from nwcodec.codec.levels_frame import walk_levels

    fr = walk_levels(data)
    chunks = []
    for j, lv in enumerate(fr.levels):
        for c in lv.chunks:
            if c.type == "LEVL" and j == k:
                c = Chunk("LEVL", strict_json.dumps(edit(json.loads(c.data))))
            chunks.append(c)
    return pack(chunks, version=(1, 4))


@pytest.mark.parametrize("edit, err", [
    (lambda j: dict(j, level=5), MalformedError),
    (lambda j: dict(j, level=True), MalformedError),
    (lambda j: dict(j, tables=j["tables"] + 1), MalformedError),
    (lambda j: dict(j, tensors=j["tensors"][:-1]), MalformedError),
    (lambda j: dict(j, tensors=[dict(t, name="nope") for t in j["tensors"]]), MalformedError),
    (lambda j: dict(j, tensors=[dict(t, shape=[72]) for t in j["tensors"]]), MalformedError),
    (lambda j: dict(j, tensors=[dict(t, factor=0) for t in j["tensors"]]), MalformedError),
    (lambda j: dict(j, tensors=[dict(t, factor=1 << 17) for t in j["tensors"]]), MalformedError),
    (lambda j: dict(j, tensors=[dict(t, extra=1) for t in j["tensors"]]), MalformedError),
    (lambda j: dict(j, metrics={"accuracy": "high"}), MalformedError),
])
def test_hostile_level_json(edit, err) -> None:
    bad = _relevel(_data("small"), 2, edit)
    with pytest.raises(err):
        decode(bad, level=2)
    assert tensor_digest(decode(bad, level=1)) == _levels("small")[1][2]   # earlier levels unaffected


def test_hostile_structure() -> None:
    data = _data("small")
    with pytest.raises(MalformedError):      # level 0's LEVL may not list tensors
        decode(_relevel(data, 0, lambda j: dict(j, tensors=[], tables=0)), level=0)
    with pytest.raises(MalformedError):      # refine of a tensor whose latest coding is raw
        decode(_relevel(data, 2, lambda j: dict(j, tensors=[dict(t, name="fc.bias", shape=[6])
                                                              for t in j["tensors"]])), level=2)
    body = data[:-12]                        # a complete stream must close its last level before NEND
    extra = struct.pack("<I", 1) + b"TABL" + b"\x00" + struct.pack("<I", zlib.crc32(b"TABL\x00"))
    with pytest.raises(MalformedError):
        decode(body + extra + data[-12:])
    assert tensor_digest(decode(body + extra, level=2)) == _levels("small")[2][2]
    flipped = bytearray(data)
    flipped[_levels("small")[1][1] - 6] ^= 1   # damage inside level 1's LEVL chunk
    with pytest.raises(ChecksumError):
        decode(bytes(flipped), level=1)
    assert tensor_digest(decode(bytes(flipped), level=0)) == _levels("small")[0][2]


def test_refine_outside_a_layered_stream_is_refused() -> None:
    head = {"kind": "weights", "tables": 1, "tensors": [
        {"name": "w", "shape": [2], "dtype": "float32", "coding": "refine", "axis": None, "factor": 2, "table": 0}]}
    from nwcodec.entropy import choose_table, write_description
    stream = pack([Chunk("HEAD", strict_json.dumps(head)),
                   Chunk("TABL", write_description(choose_table(np.zeros(2, np.int64)))),
                   Chunk("TENS", b"\x00")], version=(1, 4))
    with pytest.raises(MalformedError, match="refine"):
        decode(stream)


def test_refined_integers_must_fit_int32() -> None:
    rng = np.random.default_rng(0)
    state = {"w": rng.normal(0, 1, (8, 8)).astype(np.float32)}
    data = encode_layered(state, [LevelSpec(), LevelSpec(factor=1 << 16), LevelSpec(factor=1 << 16)], quality=60)
    with pytest.raises(MalformedError, match="int32"):
        decode(data)


def test_writer_levels_refine() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.1, (32, 40)).astype(np.float32)
    data = encode_layered({"w": w}, [LevelSpec(sparsity=0.8), LevelSpec(factor=1), LevelSpec(factor=4),
                                     LevelSpec(factor=4)], quality=20)
    errs = [float(np.sqrt(np.mean((decode(data, level=k)["w"] - w) ** 2))) for k in range(4)]
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    assert abs(float(np.mean(decode(data, level=0)["w"] == 0)) - 0.8) < 0.02
    assert data[8:12] == b"\x01\x00\x04\x00"


def test_api_errors() -> None:
    data = _data("small")
    with pytest.raises(InputError):
        decode(data, level=3)
    with pytest.raises(InputError):
        decode(data, level=-1)
    plain = nwcodec.encode({"w": np.ones((4, 4), np.float32)})
    with pytest.raises(InputError):
        decode(plain, level=1)
    assert decode(plain, level=0)["w"].shape == (4, 4)
    with pytest.raises(IncompleteLevelError) as e:
        decode(data[:_levels("small")[1][1] + 20], level=2)
    assert e.value.complete == 2


def test_cli_level_and_info(tmp_path: Path, capsys) -> None:
    src = VECTORS / "small.nwc"
    out = tmp_path / "l1.safetensors"
    assert main(["decode", str(src), str(out), "--level", "1"]) == 0
    from safetensors.numpy import load_file
    loaded = load_file(out)
    assert tensor_digest({k: loaded[k] for k in ("fc.weight", "fc.bias")}) == _levels("small")[1][2]
    assert main(["info", str(src)]) == 0
    text = capsys.readouterr().out
    assert "3 complete levels" in text and "accuracy=0.75" in text
    assert main(["info", str(src), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert [r["end"] for r in info["levels"]] == [e for _, e, _ in _levels("small")]
    cut = tmp_path / "cut.nwc"
    cut.write_bytes(src.read_bytes()[:_levels("small")[1][1] + 3])
    assert main(["decode", str(cut), str(tmp_path / "x.safetensors")]) == 1
    assert main(["decode", str(cut), str(tmp_path / "x.safetensors"), "--level", "1"]) == 0


def test_random_damage_gives_typed_errors_and_never_touches_earlier_levels() -> None:
    """Bytes changed inside one chunk (CRC repaired, so only the codec layer can notice): every decode either
    succeeds or raises an NwcodecError, and levels that end before the damaged chunk keep their digests."""
    from nwcodec.errors import NwcodecError

    data = _data("small")
    levels = _levels("small")
    frames, pos = [], 12
    while pos < len(data) - 12:
        n = struct.unpack_from("<I", data, pos)[0]
        frames.append((pos, n))
        pos += n + 12
    rng = np.random.default_rng(7)
    for _ in range(300):
        p, n = frames[int(rng.integers(len(frames)))]
        if n == 0:
            continue
        b = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            b[p + 8 + int(rng.integers(n))] = int(rng.integers(256))
        b[p + 8 + n:p + 12 + n] = struct.pack("<I", zlib.crc32(bytes(b[p + 4:p + 8 + n])))
        for k, end, want in levels:
            if end <= p:
                assert tensor_digest(decode(bytes(b), level=k)) == want
            else:
                try:
                    decode(bytes(b), level=k)
                except NwcodecError:
                    pass


def test_level0_allocates_like_the_single_rate_encoder() -> None:
    """Level 0 spreads the quality over tensors as ``nwcodec.encode`` does (the data-free size rule): decoded, it
    equals the single-rate stream of the same quality; ``allocation="tensor"`` gives every tensor the same
    relative error instead (a 16× larger tensor then gets no more error than a small one)."""
    rng = np.random.default_rng(5)
    state = {"big.weight": rng.normal(0, 0.05, (128, 128)).astype(np.float32),
             "small.weight": rng.normal(0, 0.5, (8, 128)).astype(np.float32)}
    single = decode(nwcodec.encode(state, quality=30))
    layered = encode_layered(state, 3, quality=30)
    lv0 = decode(layered, level=0)
    for n in state:
        np.testing.assert_array_equal(lv0[n], single[n])
    rel = {n: float(np.sqrt(np.mean((lv0[n] - a) ** 2) / np.mean(a ** 2))) for n, a in state.items()}
    assert rel["big.weight"] > 2.5 * rel["small.weight"]          # e ∝ sqrt(n): 4× in theory
    flat = decode(encode_layered(state, 3, quality=30, allocation="tensor"), level=0)
    rel_t = {n: float(np.sqrt(np.mean((flat[n] - a) ** 2) / np.mean(a ** 2))) for n, a in state.items()}
    assert rel_t["big.weight"] == pytest.approx(rel_t["small.weight"], rel=0.25)
