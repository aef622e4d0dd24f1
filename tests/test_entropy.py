"""Integer tables, table descriptions, exact constriction coding and table choice."""
from __future__ import annotations

import constriction
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nwcodec.bitstream import Reader
from nwcodec.entropy import (TOTAL, FreqTable, TableDescription, choose_table, decode_segment, encode_segment,
                             ideal_bits, normalize_weights, read_description, table_for_pmf, write_description)
from nwcodec.entropy.describe import HISTOGRAM, LAPLACE, LOG_HISTOGRAM, MAX_LOG_CODE
from nwcodec.errors import BitstreamError, LimitExceededError, MalformedError

weights_st = st.lists(st.one_of(st.just(0), st.integers(0, 1000), st.integers(0, (1 << 32) - 1)),
                      min_size=1, max_size=300)


@settings(max_examples=150, deadline=None)
@given(weights_st)
def test_normalize_weights_invariants(w: list[int]) -> None:
    f = normalize_weights(np.array(w, dtype=np.uint64))
    assert f.dtype == np.int64 and f.size == len(w)
    assert int(f.sum()) == TOTAL and int(f.min()) >= 1
    assert np.array_equal(f, normalize_weights(np.array(w, dtype=np.uint64)))
    a = np.array(w)
    assert np.all((a[:, None] < a[None, :]) <= (f[:, None] <= f[None, :]))  # monotone in the weight


def test_normalize_weights_formula_and_edges() -> None:
    w = np.array([3, 0, 1], dtype=np.uint64)
    spare = TOTAL - 3
    expect = np.array([1 + 3 * spare // 4, 1, 1 + spare // 4])
    expect[0] += TOTAL - expect.sum()
    assert np.array_equal(normalize_weights(w), expect)
    assert np.array_equal(normalize_weights(np.zeros(4, np.uint64)), [TOTAL // 4] * 4)
    big = normalize_weights(np.full(70000 - 4463, (1 << 32) - 1, dtype=np.uint64))  # Σw >= 2**32 path
    assert int(big.sum()) == TOTAL
    for bad in (np.zeros(0, np.uint64), np.array([1 << 32], np.uint64), np.ones((1 << 16) + 2, np.uint64)):
        with pytest.raises(ValueError):
            normalize_weights(bad)


descriptions = st.one_of(
    st.builds(lambda lo, ws, e: TableDescription(HISTOGRAM, lo, len(ws), e, tuple(ws)),
              st.integers(-(1 << 40), 1 << 40), st.lists(st.integers(0, (1 << 32) - 1), min_size=1, max_size=50),
              st.integers(0, (1 << 32) - 1)),
    st.builds(lambda lo, cs, e: TableDescription(LOG_HISTOGRAM, lo, len(cs), e, tuple(cs)),
              st.integers(-1000, 1000), st.lists(st.integers(0, MAX_LOG_CODE), min_size=1, max_size=300),
              st.integers(0, (1 << 32) - 1)),
    st.builds(lambda lo, n, e, c, r: TableDescription(LAPLACE, lo, n, e, (c, r)),
              st.integers(-5000, 5000), st.integers(1, 3000), st.integers(0, (1 << 32) - 1),
              st.integers(-(1 << 40), 1 << 40), st.integers(0, 65535)),
)


@settings(max_examples=150, deadline=None)
@given(descriptions)
def test_description_roundtrip(d: TableDescription) -> None:
    raw = write_description(d)
    assert read_description(raw) == d
    t = d.table()
    assert t.lo == d.lo and t.n == d.n and int(t.freqs.sum()) == TOTAL


def test_laplace_weights_recursion() -> None:
    d = TableDescription(LAPLACE, -3, 100, 7, (0, 40000))
    w = d.weights()
    g = [1 << 30]
    for _ in range(64):
        g.append((g[-1] * 40000) >> 16)
    dist = np.minimum(np.abs(np.arange(-3, 97)), 64)
    assert w[:-1].tolist() == [g[k] for k in dist] and int(w[-1]) == 7


def test_log_histogram_weights() -> None:
    d = TableDescription(LOG_HISTOGRAM, 0, 4, 0, (0, 1, 9, MAX_LOG_CODE))
    assert d.weights().tolist() == [0, 256, 512, 470 << 23, 0]


@pytest.mark.parametrize("payload,err", [
    (b"\x07\x00\x01\x00", MalformedError),                  # unknown kind
    (b"\x00\x00\x00\x00", LimitExceededError),              # n = 0
    (b"\x00\x00\x80\x80\x08\x00", LimitExceededError),      # n = 2**17
    (b"\x00\x00\x02\x00\x05", MalformedError),              # histogram shorter than n
    (b"\x01\x00\x01\x00\xff", MalformedError),              # log code > MAX_LOG_CODE
    (b"\x00\x00\x01\x00\x01\x00", MalformedError),          # trailing byte
])
def test_bad_descriptions(payload: bytes, err: type) -> None:
    with pytest.raises(err):
        read_description(payload)


def _roundtrip(values: np.ndarray, table: FreqTable) -> np.ndarray:
    seg = encode_segment(values, table)
    r = Reader(seg, "test")
    out = decode_segment(r, table, values.size)
    r.done()
    return out


def test_segment_roundtrip_with_escapes() -> None:
    rng = np.random.default_rng(0)
    table = choose_table(rng.integers(-3, 4, 1000)).table()
    v = rng.integers(-3, 4, 5000)
    v[rng.choice(5000, 50, replace=False)] = rng.integers(-(1 << 31), (1 << 31) - 1, 50)
    v[:4] = [-(1 << 31), (1 << 31) - 1, table.lo - 1, table.hi + 1]
    assert np.array_equal(_roundtrip(v, table), v)
    assert np.array_equal(_roundtrip(np.zeros(0, np.int64), table), np.zeros(0))
    assert encode_segment(np.zeros(0, np.int64), table) == b"\x00\x00\x00"
    with pytest.raises(ValueError):
        encode_segment(np.array([1 << 31]), table)


def test_segment_refuses_excess_symbols_and_leftover_words() -> None:
    table = FreqTable(0, normalize_weights(np.array([5, 3, 1], np.uint64)))
    seg = encode_segment(np.arange(2).repeat(50), table)
    with pytest.raises(LimitExceededError):
        decode_segment(Reader(seg), table, 99)
    extra = encode_segment(np.arange(2).repeat(60), table)  # same symbols, claim fewer → coder not empty
    n_words = extra[1]
    forged = bytes([50, n_words]) + extra[2:]
    with pytest.raises(BitstreamError):
        decode_segment(Reader(forged), table, 100)


def _coded_bits(idx: np.ndarray, freqs: np.ndarray, perfect: bool) -> int:
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(idx.astype(np.int32), constriction.stream.model.Categorical(freqs / TOTAL, perfect=perfect))
    return coder.num_bits()


def test_constriction_model_reproduces_integer_frequencies() -> None:
    """Coded size == ideal size under the integer table, which would fail had constriction
    re-quantized the probabilities (as it does with ``perfect=False``)."""
    rng = np.random.default_rng(1)
    for _ in range(6):
        n = int(rng.integers(2, 3000))
        w = np.minimum(rng.pareto(0.7, n) * rng.integers(1, 1000), (1 << 32) - 1).astype(np.uint64)
        w[rng.random(n) < 0.3] = 0                              # many frequency-1 symbols
        table = FreqTable(0, normalize_weights(w))
        idx = rng.integers(0, n, 100_000)                       # uniform: rare symbols weigh a lot
        ideal = ideal_bits(idx, table)
        freqs = table.freqs.astype(np.float64)
        assert abs(_coded_bits(idx, freqs, True) - ideal) <= 64 + 1e-5 * ideal
        assert abs(_coded_bits(idx, freqs, False) - ideal) > 64 + 1e-5 * ideal
        r = Reader(encode_segment(idx, table))
        r.uvarint()
        assert abs(32 * r.uvarint() - ideal) <= 64 + 1e-5 * ideal    # n_words u32 words


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["normal", "laplace", "uniform", "spiky"]))
def test_choose_table_no_worse_than_histogram(seed: int, shape: str) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    v = {"normal": lambda: np.rint(rng.normal(0, rng.uniform(0.1, 30), n)),
         "laplace": lambda: np.rint(rng.laplace(3, rng.uniform(0.1, 30), n)),
         "uniform": lambda: rng.integers(-100, 100, n),
         "spiky": lambda: np.where(rng.random(n) < 0.01, rng.integers(-10**6, 10**6, n), 0)}[shape]().astype(np.int64)
    d = choose_table(v)
    lo, hi = int(v.min()), int(v.max())
    plain = TableDescription(HISTOGRAM, lo, hi - lo + 1, 0, tuple(np.bincount(v - lo).tolist())) \
        if hi - lo < 4096 else None
    t = d.table()
    cost = 8 * len(write_description(d)) + ideal_bits(v, t) + 24 * int(((v < t.lo) | (v > t.hi)).sum())
    if plain is not None:
        plain_cost = 8 * len(write_description(plain)) + ideal_bits(v, plain.table())
        assert cost <= plain_cost * (1 + 1e-9) + 1e-6
    assert np.array_equal(_roundtrip(v, d.table()), v)


def test_table_for_pmf_codes_prior_mass() -> None:
    pmf = np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    d = table_for_pmf(pmf, -2)
    assert d.kind == HISTOGRAM and d.lo == -2 and d.body == (6554, 13107, 26214, 13107, 6554)
    v = np.array([-2, 0, 0, 1, 7])
    assert table_for_pmf(pmf, -2, v).kind in (HISTOGRAM, LOG_HISTOGRAM)


def test_prior_table_costs_what_the_prior_says_for_sparse_latents() -> None:
    """A peaked prior with rare but present values: coded payload within 1 % of -Σ log2 pmf."""
    from nwcodec.entropy import table_for_pmf

    rng = np.random.default_rng(0)
    lat = np.zeros(200_000, np.int64)
    hit = rng.choice(lat.size, 3000, replace=False)
    lat[hit] = rng.choice([-3, -2, -1, 1, 2, 3], hit.size)
    v = np.arange(-40, 41)
    pmf = np.exp(-2.0 * np.abs(v))
    pmf[40] *= 3000
    pmf /= pmf.sum()
    ideal = float(-np.log2(pmf[lat + 40]).sum())
    table = table_for_pmf(pmf, -40, lat).table()
    assert ideal_bits(lat, table) == pytest.approx(ideal, rel=0.01)
    seg = encode_segment(lat, table)
    assert 8 * len(seg) < 1.01 * ideal + 256
