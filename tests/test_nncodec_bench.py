"""Pure parts of benchmarks/nncodec_bench: matched-fidelity interpolation and weight SNR (no NNCodec needed)."""
import math

import numpy as np
import pytest

from benchmarks.nncodec_match import common_range, frontier, ratio_at, value_at, weight_snr_db


def test_log_bytes_interpolation_known_answer():
    # log-linear: halfway in fidelity between 1000 B and 4000 B is sqrt(1000·4000) = 2000 B.
    pts = [{"bytes": 1000, "fidelity": 20.0}, {"bytes": 4000, "fidelity": 30.0}]
    assert value_at(pts, 25.0) == pytest.approx(2000.0)
    assert value_at(pts, 20.0) == pytest.approx(1000.0)
    assert value_at(pts, 19.9) is None and value_at(pts, 30.1) is None     # never extrapolated


def test_matched_ratio_known_answer():
    theirs = [{"bytes": 1000, "fidelity": 20.0}, {"bytes": 4000, "fidelity": 30.0}]
    # ours is 0.9x theirs everywhere (same slope): the ratio is 0.9 at every level inside both ranges.
    ours = [{"bytes": 900, "fidelity": 20.0}, {"bytes": 3600, "fidelity": 30.0}, {"bytes": 14400, "fidelity": 40.0}]
    for level in (20.0, 22.5, 27.0, 30.0):
        assert ratio_at(ours, theirs, level) == pytest.approx(0.9)
    assert ratio_at(ours, theirs, 35.0) is None
    assert common_range(ours, theirs) == (20.0, 30.0)
    # a second key (decode seconds) interpolates the same way
    ours_t = [dict(p, decode_s=0.1) for p in ours]
    theirs_t = [dict(p, decode_s=1.0) for p in theirs]
    assert ratio_at(ours_t, theirs_t, 25.0, key="decode_s") == pytest.approx(0.1)


def test_frontier_drops_dominated_points():
    pts = [{"bytes": 100, "fidelity": 98.9}, {"bytes": 200, "fidelity": 98.8}, {"bytes": 300, "fidelity": 99.0}]
    assert [p["bytes"] for p in frontier(pts)] == [100, 300]
    # 98.9 -> 99.0 between 100 and 300 B: at 98.95, sqrt(100·300)
    assert value_at(pts, 98.95) == pytest.approx(math.sqrt(100 * 300))


def test_weight_snr_hand_computed():
    ref = {"w": np.array([[3.0, 4.0]]), "b": np.array([100.0]), "i": np.array([[7, 7]])}
    dec = {"w": np.array([[3.0, 3.0]]), "b": np.array([0.0]), "i": np.array([[0, 0]])}
    # only the 2-D float tensor counts: signal 9+16 = 25, noise 1 -> 10·log10(25) dB
    assert weight_snr_db(ref, dec) == pytest.approx(10 * math.log10(25.0))
    two = {"a": np.ones((2, 2)), "c": np.full((1, 3), 2.0)}
    two_dec = {"a": np.ones((2, 2)) * 1.5, "c": np.full((1, 3), 2.0)}
    # signal 4 + 12 = 16, noise 4·0.25 = 1
    assert weight_snr_db(two, two_dec) == pytest.approx(10 * math.log10(16.0))
    assert weight_snr_db(two, two) == math.inf
