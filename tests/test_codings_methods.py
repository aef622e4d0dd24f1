"""Format 1.2 codings (codebook, sparse, lowrank, sum) and the MTHD chunk: vectors, writer, hostile headers.

Known answers: the committed ``bitstreams/methods`` digests (checked against their construction when written,
and decoded by the independent decoder in ``tests/test_independent_decoder.py``); here also streams written
now, decoded by both decoders and compared with ``dense()`` and with numpy constructions.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nwcodec import (LimitExceededError, MalformedError, TruncatedError, UnknownChunkError, decode, encode,
                     parse)
from nwcodec.bitstream import Chunk, pack, strict_json, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.writer import CodebookPart, FloatVec, LowRankPart, QuantPart, SparsePart, StreamWriter
from tests import independent as ind

VECTORS = sorted((Path(__file__).resolve().parents[1] / "bitstreams" / "methods").glob("*.nwc"))


def test_vector_set() -> None:
    assert {p.stem for p in VECTORS} == {"codebook", "sparse", "lowrank", "sum_parts"}
    codings: set[str] = set()
    for p in VECTORS:
        for t in parse(p.read_bytes()).tensors:
            codings.add(t["coding"])
            codings |= {q["coding"] for q in t.get("parts", [])}
    assert {"codebook", "sparse", "lowrank", "sum", "quant"} <= codings


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_digest(path: Path, workers: int) -> None:
    data = path.read_bytes()
    assert data[8:12] == b"\x01\x00\x02\x00"   # stamped 1.2
    assert tensor_digest(decode(data, workers=workers)) == path.with_suffix(".sha256").read_text().strip()


def test_older_decoder_refuses_by_name() -> None:
    data = VECTORS[0].read_bytes()
    with pytest.raises(UnknownChunkError, match="MTHD"):
        unpack(data, known=KNOWN_CHUNKS - {"MTHD"})


def test_writer_stamps_lowest_version() -> None:
    w = StreamWriter()
    w.add_quant("a", np.ones((4, 4), np.float32), 0.5)
    w.add_array("b", np.arange(3, dtype=np.int64))
    data = w.finish(compress_header=False)
    assert data[8:12] == b"\x01\x00\x00\x00" and "MTHD" not in [c.type for c in _chunks(data)]
    w.add_parts("c", (3, 3), [SparsePart.from_dense(np.eye(3))])
    data = w.finish(compress_header=False)
    assert data[8:12] == b"\x01\x00\x02\x00" and _chunks(data)[1] == Chunk("MTHD", b"sparse")


def _random_stream(seed: int) -> tuple[bytes, dict, dict]:
    rng = np.random.default_rng(seed)
    w, dense = StreamWriter(segment_size=int(rng.integers(50, 400))), {}
    m, n = int(rng.integers(2, 40)), int(rng.integers(5, 40))
    x = rng.normal(0, 1, (m, n)).astype(np.float32)
    r = int(rng.integers(1, min(m, n) + 1))
    parts = [QuantPart.from_float(x, 0.3),
             LowRankPart.from_factors(rng.normal(size=(m, r)), rng.normal(size=(n, r)), 0.01, None),
             SparsePart.from_dense(np.where(rng.random((m, n)) < 0.1, x, 0), 0.02),
             CodebookPart(rng.integers(0, 5, (m, n)), FloatVec.quantized(rng.normal(size=5 * m), 0.001), axis=0)]
    keep = [p for p, k in zip(parts, rng.random(4) < 0.7) if k] or parts[:1]
    w.add_parts("t", (m, n), keep)
    dense["t"] = keep[0].dense((m, n)) if len(keep) == 1 else None
    return w.finish(), dense, {"t": keep}


@pytest.mark.parametrize("seed", range(6))
def test_random_streams_agree_with_independent_decoder(seed: int) -> None:
    data, _, parts = _random_stream(seed)
    mine = decode(data)
    other = dict(ind.decode(data))
    assert mine.keys() == other.keys()
    for k in mine:
        assert mine[k].dtype == other[k].dtype and mine[k].tobytes() == other[k].tobytes()
    from nwcodec.codec.writer import dense_sum

    assert mine["t"].tobytes() == dense_sum(parts["t"], mine["t"].shape).tobytes()


def test_codebook_and_lowrank_known_answers() -> None:
    w = StreamWriter()
    w.add_parts("cb", (2, 3), [CodebookPart([[0, 1, 2], [2, 2, 0]], [[0.5, -1, 4], [1, 2, 3]], axis=0)])
    w.add_parts("lr", (2, 2), [LowRankPart.from_factors([[1, 2], [3, 4]], [[1, 0], [0, 1]])])
    out = decode(w.finish())
    assert out["cb"].tolist() == [[0.5, -1, 4], [3, 3, 1]]
    assert out["lr"].tolist() == [[1, 2], [3, 4]]


# ---------- hostile headers: each schema refuses before allocating ----------

def _chunks(data: bytes) -> list[Chunk]:
    return unpack(data, known=KNOWN_CHUNKS).chunks


def _base_stream() -> bytes:
    rng = np.random.default_rng(3)
    w = StreamWriter()
    w.add_parts("cb", (6, 8), [CodebookPart(rng.integers(0, 4, (6, 8)), np.arange(4, dtype=np.float32))])
    w.add_parts("sp", (6, 8), [SparsePart.from_dense(np.eye(6, 8), 0.5)])
    w.add_parts("lr", (6, 8), [LowRankPart.from_factors(rng.normal(size=(6, 2)), rng.normal(size=(8, 2)))])
    w.add_parts("sum", (6, 8), [QuantPart.from_float(rng.normal(size=(6, 8)), 0.1),
                                SparsePart.from_dense(np.eye(6, 8))])
    return w.finish(compress_header=False)


BASE = _base_stream()


def _forge(edit, mthd: bytes | None | str = "keep", chunks_edit=None) -> bytes:
    chunks = _chunks(BASE)
    head = strict_json.loads(chunks[0].data)
    edit(head)
    chunks[0] = Chunk("HEAD", strict_json.dumps(head))
    if mthd != "keep":
        chunks = [c for c in chunks if c.type != "MTHD"]
        if mthd is not None:
            chunks.insert(1, Chunk("MTHD", mthd))
    if chunks_edit:
        chunks = chunks_edit(chunks)
    return pack(chunks, version=(1, 2))


def _t(h: dict, name: str) -> dict:
    return next(t for t in h["tensors"] if t["name"] == name)


HOSTILE = {
    "codebook size 0": (lambda h: _t(h, "cb").update(size=0), MalformedError),
    "codebook size past 2^16": (lambda h: _t(h, "cb").update(size=1 << 17), MalformedError),
    "codebooks larger than the tensor": (lambda h: _t(h, "cb").update(size=40, axis=1), LimitExceededError),
    "codebook bool size": (lambda h: _t(h, "cb").update(size=True), MalformedError),
    "codebook axis out of range": (lambda h: _t(h, "cb").update(axis=2), MalformedError),
    "codebook cb table out of range": (lambda h: _t(h, "cb").update(cb=99), MalformedError),
    "codebook missing key": (lambda h: _t(h, "cb").pop("cb"), MalformedError),
    "sparse nnz past numel": (lambda h: _t(h, "sp").update(nnz=49), MalformedError),
    "sparse nnz huge": (lambda h: _t(h, "sp").update(nnz=1 << 40), MalformedError),
    "sparse negative nnz": (lambda h: _t(h, "sp").update(nnz=-1), MalformedError),
    "sparse values spec float": (lambda h: _t(h, "sp").update(values=1.0), MalformedError),
    "lowrank rank past min(m, n)": (lambda h: _t(h, "lr").update(rank=7), MalformedError),
    "lowrank rank 0": (lambda h: _t(h, "lr").update(rank=0), MalformedError),
    "lowrank scalar": (lambda h: _t(h, "lr").update(shape=[]), MalformedError),
    "lowrank compute bomb": (lambda h: _t(h, "lr").update(shape=[1 << 14, 1 << 14], rank=1 << 12), LimitExceededError),
    "sum nested": (lambda h: _t(h, "sum")["parts"].append({"coding": "sum", "parts": []}), MalformedError),
    "sum raw part": (lambda h: _t(h, "sum")["parts"].append({"coding": "raw"}), MalformedError),
    "sum part with name": (lambda h: _t(h, "sum")["parts"][0].update(name="x"), MalformedError),
    "sum nine parts": (lambda h: _t(h, "sum").update(parts=_t(h, "sum")["parts"] * 5), MalformedError),
    "sum no parts": (lambda h: _t(h, "sum").update(parts=[]), MalformedError),
    "sum part table out of range": (lambda h: _t(h, "sum")["parts"][1].update(gaps=50), MalformedError),
    "codebook on int dtype": (lambda h: _t(h, "cb").update(dtype="int32"), MalformedError),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_header(case: str) -> None:
    edit, err = HOSTILE[case]
    data = _forge(edit)
    with pytest.raises(err):
        parse(data)
    with pytest.raises(ind.errors.DecodeError):
        ind.decode(data)


@pytest.mark.parametrize("mthd, err", [(None, MalformedError), (b"codebook,lowrank,sparse", MalformedError),
                                       (b"codebook,lowrank,sparse,sum,trellis", UnknownChunkError),
                                       (b"sum,codebook,lowrank,sparse", MalformedError),
                                       (b"codebook,codebook,lowrank,sparse,sum", MalformedError),
                                       (b"\xff", MalformedError)])
def test_hostile_mthd(mthd, err) -> None:
    data = _forge(lambda h: None, mthd)
    with pytest.raises(err):
        parse(data)
    with pytest.raises(ind.errors.DecodeError):
        ind.decode(data)


def test_mthd_order_and_count() -> None:
    def move(chunks):   # MTHD after the first TABL
        m = chunks.pop(1)
        chunks.insert(2, m)
        return chunks

    for edit in (move, lambda c: c[:2] + [c[1]] + c[2:]):
        data = _forge(lambda h: None, chunks_edit=edit)
        with pytest.raises(MalformedError):
            parse(data)
        with pytest.raises(ind.errors.MalformedError):
            ind.decode(data)


def _payload_forge(name: str, mutate) -> bytes:
    chunks = _chunks(BASE)
    head = strict_json.loads(chunks[0].data)
    i = [t["name"] for t in head["tensors"]].index(name)
    tens = [k for k, c in enumerate(chunks) if c.type == "TENS"][i]
    chunks[tens] = Chunk("TENS", mutate(chunks[tens].data, head["tensors"][i]))
    return pack(chunks, version=(1, 2))


def test_codebook_index_out_of_range_and_nonfinite() -> None:
    # shrink the declared codebook: the coded indices 0..3 then exceed size 3 (payload: 3 floats fewer is
    # trailing-byte-safe since we cut the floats out)
    def cut(p: bytes, t) -> bytes:
        return p[:1] + p[1 + 4:]

    chunks = _chunks(BASE)
    head = strict_json.loads(chunks[0].data)
    _t(head, "cb").update(size=3)
    chunks[0] = Chunk("HEAD", strict_json.dumps(head))
    tens = [k for k, c in enumerate(chunks) if c.type == "TENS"][0]
    chunks[tens] = Chunk("TENS", cut(chunks[tens].data, None))
    data = pack(chunks, version=(1, 2))
    with pytest.raises(MalformedError, match="outside"):
        decode(data)
    with pytest.raises(ind.errors.MalformedError):
        ind.decode(data)
    nan = _payload_forge("cb", lambda p, t: p[:1] + np.float32(np.nan).tobytes() + p[5:])
    with pytest.raises(MalformedError, match="finite"):
        decode(nan)
    with pytest.raises(ind.errors.MalformedError):
        ind.decode(nan)


def test_sparse_position_past_the_end() -> None:
    # a sparse tensor whose gaps reach past numel: write it with a bigger tensor, then shrink the header
    w = StreamWriter()
    w.add_parts("sp", (10,), [SparsePart([2, 9], FloatVec.raw([1, 2]), 10)])
    chunks = _chunks(w.finish(compress_header=False))
    head = strict_json.loads(chunks[0].data)
    head["tensors"][0]["shape"] = [9]
    chunks[0] = Chunk("HEAD", strict_json.dumps(head))
    data = pack(chunks, version=(1, 2))
    with pytest.raises(MalformedError, match="outside|past"):
        decode(data)
    with pytest.raises(ind.errors.MalformedError):
        ind.decode(data)


def test_truncated_payloads_are_typed() -> None:
    for name in ("cb", "sp", "lr", "sum"):
        data = _payload_forge(name, lambda p, t: p[:-3])
        with pytest.raises((TruncatedError, MalformedError)):
            decode(data)


def test_writer_refuses_bad_parts_before_writing() -> None:
    from nwcodec import InputError

    w = StreamWriter()
    with pytest.raises(InputError, match="rank"):
        w.add_parts("lr", (2, 3), [LowRankPart.from_factors(np.ones((2, 3)), np.ones((3, 3)))])
    with pytest.raises(InputError, match="no parts"):
        w.add_parts("x", (2, 2), [])
    with pytest.raises(ValueError):
        CodebookPart([[0, 5]], [0.0, 1.0])
    with pytest.raises(ValueError):
        SparsePart([3, 1], FloatVec.raw([1, 2]), 5)
    assert w.names == []
