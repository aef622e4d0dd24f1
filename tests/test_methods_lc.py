"""LC additive combinations on a small LeNet-300-100: quant+sparse, lowrank+sparse, quant+lowrank+sparse."""
from __future__ import annotations

import numpy as np

from nwcodec import parse
from nwcodec.methods import Scheme, lc, lc_post_training
from nwcodec.methods.common import accuracy
from tests.methods_helpers import check_method, loaders, trained_lenet300


def test_lc_per_layer_schemes(tmp_path) -> None:
    trl, tel, x, y = loaders()
    model = trained_lenet300(trl, 3)
    base = accuracy(model, tel)
    schemes = {"fc1.weight": Scheme("quant+sparse", k=2, frac=0.01),
               "fc2.weight": Scheme("quant+lowrank+sparse", k=2, rank=4, frac=0.01),
               "fc3.weight": Scheme("lowrank+sparse", rank=8, frac=0.05)}
    data = lc(model, trl, schemes, lc_steps=3, epochs_per_step=0.7)
    ps = parse(data)
    parts = {t["name"]: [p["coding"] for p in t["parts"]] for t in ps.tensors if t["coding"] == "sum"}
    assert parts == {"fc1.weight": ["codebook", "sparse"], "fc2.weight": ["codebook", "lowrank", "sparse"],
                     "fc3.weight": ["lowrank", "sparse"]}
    assert len(data) < 60_000
    check_method(model, data, tel, x, y, tmp_path, base, max_drop=0.04)


def test_lc_post_training_is_data_free() -> None:
    trl, tel, _, _ = loaders(n_train=2000)
    model = trained_lenet300(trl, 1)
    w = model.fc1.weight.detach().numpy().copy()
    data = lc_post_training(model, Scheme("quant+sparse", k=4, frac=0.02))
    got = model.fc1.weight.detach().numpy()
    assert len(np.unique(got)) < 4 + 0.02 * got.size + 2
    assert np.sqrt(np.mean((got - w) ** 2)) < 0.6 * np.sqrt(np.mean(w ** 2))
    assert ps_version(data) == (1, 2)


def ps_version(data: bytes) -> tuple[int, int]:
    return parse(data).version


def test_lc_sgd_with_multipliers_keeps_accuracy_and_converges_to_the_coded_weights(tmp_path) -> None:
    """The reference's L step (SGD + Nesterov, lr decay, augmented Lagrangian): the weights end close to
    Δ(Θ), so the coded network keeps the accuracy; a fresh process decodes exactly those weights."""
    trl, tel, x, y = loaders()
    model = trained_lenet300(trl, 3)
    base = accuracy(model, tel)
    gaps: list[float] = []
    data = lc(model, trl, Scheme("quant+sparse", k=4, frac=0.01), lc_steps=4, epochs_per_step=0.5,
              first_step_factor=2.0, mu0=1e-2, mu_growth=4.0, lr=0.05, lr_decay=0.9, optimizer="sgd",
              multipliers=True, log=lambda s: gaps.append(float(s.rsplit("=", 1)[1])))
    assert len(gaps) == 4 and gaps[-1] < gaps[0]     # μ grows: w is pulled onto Δ(Θ)
    check_method(model, data, tel, x, y, tmp_path, base, max_drop=0.04)


def test_lc_rejects_an_unknown_optimizer() -> None:
    trl, _, _, _ = loaders(n_train=500, n_test=100)
    model = trained_lenet300(trl, 0.2)
    import pytest

    with pytest.raises(ValueError, match="optimizer"):
        lc(model, trl, Scheme(), lc_steps=1, epochs_per_step=0.1, optimizer="lbfgs")
