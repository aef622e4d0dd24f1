"""Automatic per-tensor choice: on the lower hull of every family, never above any single family's stream."""
from __future__ import annotations

import numpy as np
import pytest

from nwcodec.methods.auto import FAMILIES, auto_post_training, candidate_points, choose
from nwcodec.methods.common import accuracy, compressible, weights
from nwcodec.methods.ops import dense_sum
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


def test_output_distortion_is_the_kl_of_the_outputs_checked_in_numpy() -> None:
    """Each point's measured distortion equals a numpy computation of the summed KL divergence between the
    model's softmax outputs with and without that tensor's point; the model's weights are left as they were."""
    import torch

    from nwcodec.methods.auto import output_distortion

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 5))
    xs = [torch.randn(32, 12) for _ in range(3)]
    loader = [(x, torch.zeros(32, dtype=torch.long)) for x in xs]
    names = ["0.weight", "2.weight"]
    arrays = {n: p.detach().numpy().copy() for n, p in model.named_parameters() if n in names}
    pts = {n: candidate_points(n, arrays[n], ("quant",))[::9] for n in names}
    measured = output_distortion(model, loader, pts, batches=2)
    b = {n: p.detach().numpy().astype(np.float64) for n, p in model.named_parameters()}

    def log_probs(w0: np.ndarray, w2: np.ndarray) -> np.ndarray:
        x = np.concatenate([x.numpy() for x in xs[:2]]).astype(np.float64)
        z = np.maximum(x @ w0.T + b["0.bias"], 0) @ w2.T + b["2.bias"]
        z -= z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))

    ref = log_probs(b["0.weight"], b["2.weight"])
    for n in names:
        assert [p.label for p in measured[n]] == [p.label for p in pts[n]] and len(pts[n]) >= 3
        for p, q in zip(pts[n], measured[n]):
            w = {m: b[m] for m in names}
            w[n] = dense_sum(p.parts, arrays[n].shape).astype(np.float64)
            lp = log_probs(w["0.weight"], w["2.weight"])
            want = float(np.sum(np.exp(ref) * (ref - lp)))
            assert q.sse == pytest.approx(want, rel=1e-3, abs=1e-6)
            assert q.nbytes == p.nbytes
        assert np.array_equal(dict(model.named_parameters())[n].detach().numpy(), arrays[n])
    assert max(q.sse for q in measured["0.weight"]) > 1e-4   # the coarse steps do change the outputs


def test_auto_rejects_an_unknown_measure() -> None:
    import torch

    with pytest.raises(ValueError, match="measure"):
        auto_post_training(torch.nn.Sequential(torch.nn.Linear(4, 3)), 1000, measure="mse")


def test_a_vector_under_lowrank_sparse_falls_back_to_quantization() -> None:
    """``lowrank-sparse`` has no candidate for a 1-D tensor; it takes the quantization family's instead of
    failing the whole choice (measured once or measured alone)."""
    from nwcodec.methods.post import choose_parts, method_points

    rng = np.random.default_rng(1)
    arrays = {"w": (rng.standard_normal((40, 64)) * 0.1).astype(np.float32),
              "v": (rng.standard_normal(256) * 0.1).astype(np.float32)}
    for pts in (method_points(arrays, "lowrank-sparse"),
                method_points(arrays, "lowrank-sparse", method_points(arrays, "auto"))):
        assert pts["v"] and all(p.family == "quant" for p in pts["v"])
        assert all(p.family == "lowrank" for p in pts["w"])
        parts = choose_parts(arrays, "lowrank-sparse", 4000, points=pts)
        assert set(parts) == {"w", "v"}


def test_data_free_weight_is_relative_error_known_answer() -> None:
    from nwcodec.methods.auto import relative_weight

    w = relative_weight({"a": np.full((4, 4), 1.0, np.float32), "b": np.full((4, 4), 10.0, np.float32)})
    # 1/||w||²: 1/16 and 1/1600, scaled to mean 1 -> 2·100/101 and 2/101
    assert w["a"] == pytest.approx(200 / 101) and w["b"] == pytest.approx(2 / 101)
