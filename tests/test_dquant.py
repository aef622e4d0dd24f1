"""Dependent quantization (``dquant``, format 1.5): state machine, trellis optimality, round trip, refusals."""
from __future__ import annotations

import itertools
import time
from pathlib import Path

import numpy as np
import pytest

import nwcodec
from nwcodec import decode, encode, parse
from nwcodec.bitstream import Chunk, pack, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.codec.trellis import dq_reconstruct, trellis_levels
from nwcodec.codings import _REGISTRY
from nwcodec.codings.dq_state import reconstruct_int, states_before, states_loop
from nwcodec.entropy import FreqTable, choose_table
from nwcodec.errors import BitstreamError, MalformedError, TruncatedError

ROOT = Path(__file__).resolve().parents[1]


def test_format_example() -> None:
    """The worked example of FORMAT.md 6.16 (a known answer)."""
    q = np.array([1, 2, -1, 0, 3, 1, -2])
    assert states_before(q).tolist() == [0, 1, 3, 0, 0, 1, 2]
    assert reconstruct_int(q).tolist() == [2, 3, -2, 0, 6, 1, -3]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 100_003])
def test_scan_matches_loop(n: int) -> None:
    rng = np.random.default_rng(n)
    q = rng.integers(-2**31, 2**31, n) if n % 2 else rng.integers(-6, 7, n)
    assert np.array_equal(states_before(q), states_loop(q))


def _cost(q: np.ndarray, x: np.ndarray, lam: float, table: FreqTable) -> float:
    bits = table.bits_per_index()[np.clip(q - table.lo, 0, table.n)]
    return float(np.sum((x - reconstruct_int(q)) ** 2) + lam * bits.sum())


def _all_costs(c: np.ndarray, x: np.ndarray, lam: float, table: FreqTable) -> np.ndarray:
    """Cost of every row of ``c`` (level sequences), the state machine run row-wise (vectorized over rows)."""
    state = np.zeros(len(c), dtype=np.int64)
    total = np.zeros(len(c))
    bits = table.bits_per_index()
    for j in range(c.shape[1]):
        q = c[:, j]
        q1 = (state == 1) | (state == 2)
        r = 2 * q - np.where(q1, np.sign(q), 0)
        total += (x[j] - r) ** 2 + lam * bits[np.clip(q - table.lo, 0, table.n)]
        state = np.where(q & 1, (state + 1) % 4, (-state) % 4)
    return total


@pytest.mark.parametrize("seed", range(4))
def test_trellis_is_optimal_on_short_runs(seed: int) -> None:
    """Exhaustive search over all level sequences in [-4, 4]^6 finds nothing cheaper than the trellis."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2.5, 6)
    table = choose_table(rng.integers(-4, 5, 500)).table()
    lam = 0.6
    q = trellis_levels(x, lam, table, chunk=6)
    combos = np.array(list(itertools.product(range(-4, 5), repeat=6)), dtype=np.int64)
    best = float(_all_costs(combos, x, lam, table).min())
    assert abs(float(_all_costs(q[None, :], x, lam, table)[0]) - _cost(q, x, lam, table)) < 1e-9
    assert _cost(q, x, lam, table) <= best + 1e-9


def test_chunked_trellis_close_to_exact() -> None:
    """Chunks stitched at their boundaries cost at most 0.5 % more than one trellis over the whole run."""
    x = np.random.default_rng(5).laplace(0, 3.0, 20_000)
    table = choose_table(np.rint(x / 2).astype(np.int64)).table()
    exact = _cost(trellis_levels(x, 0.6, table, chunk=20_000), x, 0.6, table)
    assert _cost(trellis_levels(x, 0.6, table, chunk=64), x, 0.6, table) <= exact * 1.005


def _snr(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(10 * np.log10(np.sum(a64 ** 2) / np.sum((a64 - b64) ** 2)))


def test_round_trip_hits_quality_and_stamps_1_5() -> None:
    rng = np.random.default_rng(7)
    state = {"w": rng.laplace(0, 0.03, (256, 300)).astype(np.float32), "b": rng.normal(0, 1, 256).astype(np.float32)}
    data = encode(state, quality=60, dq=True)
    ps = parse(data)
    assert ps.version == (1, 5) and [t["coding"] for t in ps.tensors][0] == "dquant"
    out = decode(data)
    assert 28.5 < _snr(state["w"], out["w"]) < 31.5           # quality 60 ≈ 30 dB
    assert np.array_equal(out["b"], state["b"])
    assert parse(encode(state, quality=60)).version[1] < 5    # streams without dquant keep their old minor


def test_saves_bytes_at_equal_snr() -> None:
    """On Laplacian weights dquant needs fewer bytes than plain ``quant`` at an SNR at least as high."""
    w = np.random.default_rng(8).laplace(0, 1.0, (512, 512)).astype(np.float32)
    plain = [(q, encode({"w": w}, quality=q)) for q in (40, 48, 56)]
    dq = encode({"w": w}, quality=48, dq=True)
    snr_dq = _snr(w, decode(dq)["w"])
    pts = sorted((_snr(w, decode(d)["w"]), np.log(len(d))) for _, d in plain)
    at = float(np.exp(np.interp(snr_dq, [p[0] for p in pts], [p[1] for p in pts])))
    assert len(dq) < 0.985 * at


def test_per_channel_and_segments_decode_alike_on_workers() -> None:
    w = np.random.default_rng(9).normal(0, 1, (64, 200)).astype(np.float32) * np.geomspace(1e-3, 1, 64)[:, None]
    data = encode({"w": w.astype(np.float32)}, quality=50, dq=True, per_channel=True, segment_size=1000)
    ps = parse(data)
    assert ps.tensors[0]["axis"] == 0 and ps.version == (1, 5)
    a, b = decode(data, workers=1)["w"], decode(data, workers=2)["w"]
    assert a.tobytes() == b.tobytes()
    assert _snr(w, a) > 22


def test_writer_resets_state_at_segments() -> None:
    """The writer's levels reconstruct, segment by segment from state 0, to what the reader returns."""
    w = np.random.default_rng(10).normal(0, 1, (40, 50)).astype(np.float32)
    data = encode({"w": w}, quality=50, dq=True, segment_size=300)
    step = np.frombuffer(bytes(parse(data).payloads[0][1:5]), "<f4")[0]
    out = decode(data)["w"].ravel()
    r = np.rint(out.astype(np.float64) / step).astype(np.int64)
    from nwcodec.codec.trellis import dq_quantize
    q = dq_quantize(w.astype(np.float64).ravel() / step, 0.6, segment=300)
    assert np.array_equal(dq_reconstruct(q, segment=300), r)


def test_older_decoder_refuses_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (ROOT / "bitstreams" / "conformance" / "dquant.nwc").read_bytes()
    monkeypatch.delitem(_REGISTRY, "dquant")
    with pytest.raises(MalformedError, match="dquant"):
        parse(data)


def _with_header(data: bytes, edit) -> bytes:
    import json

    chunks = unpack(data, known=KNOWN_CHUNKS).chunks
    head = json.loads(bytes(chunks[0].data))
    edit(head)
    chunks[0] = Chunk("HEAD", json.dumps(head, separators=(",", ":")).encode())
    return pack(chunks, version=(1, 5))


@pytest.mark.parametrize("edit, err", [
    (lambda h: h["tensors"][0].update(axis=4), MalformedError),
    (lambda h: h["tensors"][0].update(axis=True), MalformedError),
    (lambda h: h["tensors"][0].update(table=99), MalformedError),
    (lambda h: h["tensors"][0].update(extra=1), MalformedError),
    (lambda h: h["tensors"][0].pop("axis"), MalformedError),
    (lambda h: h["tensors"][0].update(dtype="int32"), MalformedError),
    (lambda h: h["tensors"][0].update(shape=[6, 11]), BitstreamError),
])
def test_hostile_header(edit, err) -> None:
    data = (ROOT / "bitstreams" / "conformance" / "dquant_edges.nwc").read_bytes()
    with pytest.raises(err):
        decode(_with_header(data, edit))


def _with_payload(data: bytes, i: int, new: bytes) -> bytes:
    chunks = unpack(data, known=KNOWN_CHUNKS).chunks
    tens = [k for k, c in enumerate(chunks) if c.type == "TENS"]
    chunks[tens[i]] = Chunk("TENS", new)
    return pack(chunks, version=(1, 5))


def test_hostile_payloads() -> None:
    data = (ROOT / "bitstreams" / "conformance" / "dquant_edges.nwc").read_bytes()
    p = bytes(parse(data).payloads[0])
    nan_step = p[:1] + np.array([np.nan], "<f4").tobytes() + p[5:]
    cases = [(p[:-3], (TruncatedError, MalformedError)), (p + b"\x00", MalformedError),
             (nan_step, MalformedError), (p[:41] + b"\x00" + p[42:], MalformedError)]   # segment count 0
    for bad, err in cases:
        with pytest.raises(err):
            decode(_with_payload(data, 0, bad))


def test_random_damage_raises_only_bitstream_errors() -> None:
    """CRC-repaired byte flips in dquant payloads are refused with a BitstreamError or decode to finite
    float32 values of the declared shape (every level sequence is valid)."""
    rng = np.random.default_rng(11)
    for name in ("dquant", "dquant_edges"):
        data = (ROOT / "bitstreams" / "conformance" / f"{name}.nwc").read_bytes()
        ps = parse(data)
        for _ in range(60):
            i = int(rng.integers(len(ps.payloads)))
            p = bytearray(ps.payloads[i])
            p[int(rng.integers(1, len(p)))] ^= 1 << int(rng.integers(8))
            try:
                out = decode(_with_payload(data, i, bytes(p)))
            except BitstreamError:
                continue
            t = ps.tensors[i]
            assert out[t["name"]].shape == tuple(t["shape"])


def test_decode_speed_close_to_quant() -> None:
    """Reconstruction through the state machine costs at most about 2× plain ``quant`` decoding."""
    w = np.random.default_rng(12).laplace(0, 1.0, (512, 1024)).astype(np.float32)
    plain, dq = encode({"w": w}, quality=50), encode({"w": w}, quality=50, dq=True)

    def best(d: bytes) -> float:
        times = []
        for _ in range(3):
            t = time.perf_counter()
            decode(d, workers=1)
            times.append(time.perf_counter() - t)
        return min(times)

    assert best(dq) < 2.5 * best(plain) + 0.02


def test_real_cnn_saves_bytes() -> None:
    """Measured on the shared MNIST CNN: dquant is smaller than quant at an SNR at least as high."""
    path = ROOT.parent / "shared" / "data" / "models" / "mnist_cnn.pth"
    if not path.is_file():
        pytest.skip("shared MNIST CNN not present")
    import torch

    sd = {k: v.float() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}
    names = [k for k, v in sd.items() if v.ndim >= 2]

    def snr(data: bytes) -> float:
        out = decode(data)
        return _snr(np.concatenate([sd[k].numpy().ravel() for k in names]),
                    np.concatenate([out[k].ravel() for k in names]))

    plain, dq = nwcodec.encode(sd, quality=60), nwcodec.encode(sd, quality=60, dq=True)
    assert snr(dq) >= snr(plain) - 0.05 and len(dq) < 0.985 * len(plain)
