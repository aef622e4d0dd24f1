"""Resource bounds of the receiver: every over-limit stream is refused in ``parse``, at once, with a
LimitExceededError, before anything big is allocated or any slow table is built."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from nwcodec import LimitExceededError, decode, encode, parse
from nwcodec.bitstream import DEFAULT_LIMITS, Chunk, Limits, Writer, pack, strict_json
from nwcodec.bitstream.limits import table_work
from nwcodec.codec import LatentTensor, PriorSpec, encode_latent_model
from nwcodec.entropy.describe import HISTOGRAM, TableDescription, write_description

REPO = Path(__file__).resolve().parents[1]


def _head(tensors: list[dict], tables: int) -> Chunk:
    return Chunk("HEAD", strict_json.dumps({"kind": "weights", "tensors": tensors, "tables": tables}))


def _quant_entry(name: str, shape: list[int], table: int = 0) -> dict:
    return {"name": name, "shape": shape, "dtype": "float32", "coding": "quant", "axis": None, "table": table}


def _table(n: int) -> Chunk:
    return Chunk("TABL", write_description(TableDescription(HISTOGRAM, 0, n, 0, tuple([1] * n))))


def bomb() -> bytes:
    """A 40 KB stream declaring a 64 GiB float32 tensor (passes the elements-per-byte guard)."""
    return pack([_head([_quant_entry("w", [1 << 14, 1 << 20])], 1), _table(3), Chunk("TENS", b"\x00"),
                 Chunk("note", b"x" * 40_000)])


def table_stall() -> bytes:
    """Three 65,536-value tables (the old decoder spent ~20 s building them)."""
    return pack([_head([], 3)] + [_table(1 << 16)] * 3)


def json_flood() -> bytes:
    """A ZHDR inflating to 64 MB of ``{},{},…`` (the old nesting pre-scan needed more than 3 GiB)."""
    body = b'{"kind":"weights","tables":0,"tensors":[],"x":[' + b"{}," * ((1 << 26) // 3 - 40) + b"{}]}"
    w = Writer()
    w.uvarint(len(body))
    w.bytes(zlib.compress(body, 9))
    return pack([Chunk("ZHDR", w.getvalue())], version=(1, 1))


@pytest.mark.parametrize("make", [bomb, table_stall, json_flood])
def test_hostile_stream_is_refused_at_once(make) -> None:
    data = make()
    t = time.perf_counter()
    with pytest.raises(LimitExceededError):
        decode(data)
    assert time.perf_counter() - t < 3.0


HOSTILE_UNDER_3GIB = r'''
import resource, sys, time
sys.path.insert(0, sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import test_codec_limits as t
from nwcodec import LimitExceededError, decode
for make in (t.bomb, t.table_stall, t.json_flood):
    data = make()
    start = time.perf_counter()
    try:
        decode(data, workers=1)
    except LimitExceededError:
        print(make.__name__, round(time.perf_counter() - start, 3))
'''


def test_hostile_streams_under_a_3_gib_address_space() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", HOSTILE_UNDER_3GIB, str(REPO / "tests")], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [line.split()[0] for line in out.stdout.splitlines()] == ["bomb", "table_stall", "json_flood"]


def test_decoded_bytes_cap_is_caller_raisable() -> None:
    data = encode({"w": np.ones((64, 64), np.float32)}, quality=40)
    with pytest.raises(LimitExceededError, match="max_decoded_bytes"):
        parse(data, Limits(max_decoded_bytes=64 * 64 * 4 - 1))
    assert decode(data, limits=Limits(max_decoded_bytes=64 * 64 * 4))["w"].shape == (64, 64)


def test_table_work_cap() -> None:
    per = table_work(4096)
    fits = DEFAULT_LIMITS.max_table_work // per
    wide = [_table(4096)] * (fits + 1)
    with pytest.raises(LimitExceededError, match="max_table_work"):
        parse(pack([_head([], len(wide))] + wide))
    with pytest.raises(LimitExceededError, match="max_table_alphabet"):
        parse(pack([_head([], 1), _table(4097)]))
    assert len(parse(pack([_head([], fits)] + wide[:fits])).descriptions) == fits


def test_json_value_cap() -> None:
    data = encode({f"t{i}": np.zeros(3, np.float32) for i in range(20)}, compress_header=False)
    with pytest.raises(LimitExceededError, match="max_json_values"):
        parse(data, Limits(max_json_values=50))
    assert len(parse(data).tensors) == 20


def test_outlier_latent_gives_a_small_stream_and_a_fast_decode() -> None:
    """An honest EPR latent with one ±30000 outlier: the prior's table is cut by tail mass, the
    outlier is an escape (the old encoder wrote a 60,001-value table: 88 KB, 3.8 s to decode)."""
    rng = np.random.default_rng(0)
    lat = np.clip(np.rint(rng.laplace(0, 2, (64, 64))), -40, 40).astype(np.int32)
    lat[3, 7], lat[9, 1] = 30000, -30000
    k = np.arange(int(lat.min()), int(lat.max()) + 1)
    pmf = np.exp(-np.abs(k) / 2.0)
    lt = LatentTensor("w", lat, "affine", {"scale": np.array([0.01], np.float32),
                                           "offset": np.array([0.0], np.float32)}, "p")
    data = encode_latent_model([lt], {"p": PriorSpec(pmf / pmf.sum(), int(k[0]))}, {})
    assert len(data) < 3000
    assert max(d.n for d in parse(data).descriptions) < 256
    t = time.perf_counter()
    out = decode(data)["w"]
    assert time.perf_counter() - t < 1.0
    assert np.array_equal(out, np.float32(0.01) * lat.astype(np.float32))


def test_encoder_keeps_many_wide_tables_within_the_work_cap() -> None:
    """12 tensors that each want a ~4000-value table (12 × 4000² is over the cap): the encoder
    narrows its tables (values beyond them become escapes) and the stream stays exact to its grid."""
    rng = np.random.default_rng(1)
    state = {f"w{i}": rng.uniform(-1, 1, (64, 96)).astype(np.float32) for i in range(12)}
    data = encode(state, rel_error=2.5e-4)
    ps = parse(data)
    assert sum(table_work(d.n) for d in ps.descriptions) <= DEFAULT_LIMITS.max_table_work
    assert 1024 < max(d.n for d in ps.descriptions) <= 2048   # narrowed from ~4000 to the next cap
    out = decode(data)
    err = max(float(np.sqrt(np.mean((out[k] - v) ** 2)) / np.sqrt(np.mean(v ** 2))) for k, v in state.items())
    assert err < 5e-4


def test_encoder_stores_small_lossless_tensors_raw_when_their_planes_exceed_the_work_cap(monkeypatch) -> None:
    """Many byte-plane tensors (each needs 4 tables): under a small work cap the writer keeps its byte
    planes for the big tensors and stores the small ones raw; the result is still bit-exact."""
    import nwcodec.codec.encoder as writer

    rng = np.random.default_rng(2)
    state = {f"norm{i}.weight": rng.choice(np.float32([0.5, 1.0, 1.5, 2.0]), 2000 + 100 * i) for i in range(12)}
    state["big.bias"] = rng.choice(np.float32([0.25, 0.75]), 40_000)
    plain = parse(encode(state))
    planes = [t for t in plain.tensors if t["coding"] == "bytes"]
    assert len(planes) == 13
    small = Limits(max_table_work=sum(table_work(d.n) for d in plain.descriptions) // 3)
    monkeypatch.setattr(writer, "DEFAULT_LIMITS", small)
    data = encode(state)
    ps = parse(data)
    assert sum(table_work(d.n) for d in ps.descriptions) <= small.max_table_work
    codings = {t["name"]: t["coding"] for t in ps.tensors}
    assert codings["big.bias"] == "bytes" and "raw" in codings.values()
    out = decode(data)
    assert all(out[k].tobytes() == v.tobytes() for k, v in state.items())
