"""Automatic per-tensor choice: on the lower hull of every family, never above any single family's stream."""
from __future__ import annotations

import numpy as np
import pytest

from nwcodec.methods.auto import FAMILIES, auto_post_training, candidate_points, choose
from nwcodec.methods.common import accuracy, compressible, weights
from tests.methods_helpers import check_method, loaders, trained_lenet300


@pytest.mark.slow
def test_auto_beats_each_family_at_equal_bytes(tmp_path) -> None:
    trl, tel, x, y = loaders()
    model = trained_lenet300(trl, 3)
    base = accuracy(model, tel)
    names = compressible(model)
    arrays = weights(model, names)
    pts = {n: candidate_points(n, arrays[n]) for n in names}
    one = {n: 1.0 for n in names}
    budget = 30_000
    picked = choose(pts, budget, one)
    total_sse = sum(p.sse for p in picked.values())
    assert sum(p.nbytes for p in picked.values()) <= budget
    for fam in FAMILIES:   # each family alone, same budget: never a lower error
        only = {n: [p for p in pts[n] if _family(p.label) == fam] for n in names}
        if all(only.values()) and sum(min(p.nbytes for p in v) for v in only.values()) <= budget:
            alone = choose(only, budget, one)
            assert total_sse <= sum(p.sse for p in alone.values()) * (1 + 1e-9), fam
    data = auto_post_training(model, 2 * budget, loader=trl, points=pts)
    check_method(model, data, tel, x, y, tmp_path, base, max_drop=0.03)


def _family(label: str) -> str:
    if label.startswith("quant"):
        return "quant"
    if "sparse" in label and label.startswith("codebook"):
        return "additive"
    if label.startswith(("codebook", "pruned codebook")):
        return "codebook"
    return "lowrank"


def test_family_subsets_of_measured_points_equal_a_family_only_measurement() -> None:
    """``method_points(..., measured=auto's points)`` gives what measuring the family alone gives (labels,
    bytes, errors), so one measurement serves every method of a budget sweep."""
    from nwcodec.methods.post import method_points

    rng = np.random.default_rng(3)
    arrays = {"w": (rng.standard_normal((48, 80)) * 0.1).astype(np.float32),
              "c": (rng.laplace(size=(16, 8, 3, 3)) * 0.05).astype(np.float32)}
    measured = method_points(arrays, "auto")
    for method in ("codebook", "lowrank-sparse"):
        sub, alone = method_points(arrays, method, measured), method_points(arrays, method)
        for n in arrays:
            assert [(p.label, p.nbytes, p.sse) for p in sub[n]] == [(p.label, p.nbytes, p.sse) for p in alone[n]]
            assert sub[n] and len(sub[n]) < len(measured[n])
