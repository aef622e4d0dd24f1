"""Data-free allocation of ``quality=`` (``allocation="size"``): known answers of the rule, and the errors a
decoded stream really has, measured against the original weights."""
from __future__ import annotations

import numpy as np
import pytest

import nwcodec
from nwcodec.codec.encoder import MAX_REL_ERROR, allocation_rel_errors


def test_rule_known_answers() -> None:
    got = allocation_rel_errors({"a": 100, "b": 300}, 0.1, "size")
    assert got["a"] == pytest.approx(0.1 * np.sqrt(0.5)) and got["b"] == pytest.approx(0.1 * np.sqrt(1.5))
    assert got["a"] ** 2 + got["b"] ** 2 == pytest.approx(2 * 0.1 ** 2)     # same summed relative noise
    assert allocation_rel_errors({"a": 100, "b": 300}, 0.1, "tensor") == {"a": 0.1, "b": 0.1}
    assert allocation_rel_errors({"a": 1, "b": 10 ** 8}, 1.0, "size")["b"] == MAX_REL_ERROR
    assert allocation_rel_errors({}, 0.1, "size") == {}
    with pytest.raises(ValueError, match="allocation must be one of"):
        allocation_rel_errors({"a": 1}, 0.1, "bits")
    with pytest.raises(ValueError, match="allocation must be one of"):
        nwcodec.encode({"w": np.ones((8, 8), np.float32)}, allocation="bits")


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b) ** 2) / np.mean(b.astype(np.float64) ** 2)))


def test_decoded_errors_follow_the_size_rule() -> None:
    rng = np.random.default_rng(0)
    w = {"small": rng.normal(0, 1.0, (64, 64)).astype(np.float32),        # 4,096 elements
         "large": rng.normal(0, 0.02, (256, 576)).astype(np.float32),     # 147,456 elements (36×)
         "bias": rng.normal(0, 1, 64).astype(np.float32)}
    q = 60.0
    rel0 = 10 ** (-q / 40)
    size = nwcodec.decode(nwcodec.encode(w, quality=q))
    tensor = nwcodec.decode(nwcodec.encode(w, quality=q, allocation="tensor"))
    e_small, e_large = _rel(size["small"], w["small"]), _rel(size["large"], w["large"])
    # 6× the relative error on the 36× larger tensor, the summed relative noise kept (uniform rounding ≈ exact)
    assert e_large / e_small == pytest.approx(6.0, rel=0.05)
    assert e_small ** 2 + e_large ** 2 == pytest.approx(2 * rel0 ** 2, rel=0.05)
    for name in ("small", "large"):
        assert _rel(tensor[name], w[name]) == pytest.approx(rel0, rel=0.05)
    assert np.array_equal(size["bias"], w["bias"])                          # 1-D: lossless either way
    # high-rate estimate: 7.8 KB of 100 KB saved
    assert len(nwcodec.encode(w, quality=q)) < 0.95 * len(nwcodec.encode(w, quality=q, allocation="tensor"))
