"""OPQ on a small LeNet-300-100: analytic allocation (data-free) and fine-tuning with it fixed."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from nwcodec import parse
from nwcodec.methods import opq, opq_allocate, opq_post_training
from nwcodec.methods.common import accuracy, compressible, weights
from tests.methods_helpers import check_method, loaders, trained_lenet300


def test_opq_allocation_is_analytic_and_meets_budget() -> None:
    rng = np.random.default_rng(0)
    arrays = {"a": rng.laplace(0, 0.05, (100, 80)).astype(np.float32),
              "b": rng.laplace(0, 0.5, (50, 40)).astype(np.float32)}
    small, big = opq_allocate(arrays, 1500), opq_allocate(arrays, 6000)
    assert all(small[n].keep <= big[n].keep or small[n].step >= big[n].step for n in arrays)
    assert small["b"].step > small["a"].step              # steps follow each tensor's scale


@pytest.mark.slow
def test_opq_post_training_and_fine_tuned(tmp_path) -> None:
    trl, tel, x, y = loaders()
    model = trained_lenet300(trl, 3)
    base = accuracy(model, tel)
    pt = copy.deepcopy(model)
    data_pt = opq_post_training(pt, 20000)
    coded = sum(len(p) for p in parse(data_pt).payloads[::2])   # the weights (biases interleave)
    assert coded < 20000 * 1.05
    assert accuracy(pt, tel) >= base - 0.05
    data = opq(model, trl, 20000, epochs=1.0)
    ps = parse(data)
    assert all(t["coding"] == "quant" and t["axis"] is None for t in ps.tensors if t["name"].endswith("weight"))
    check_method(model, data, tel, x, y, tmp_path, base, max_drop=0.02)
    w = weights(model, compressible(model))
    # pruned by the allocation: every layer, most of all the large ones (the output layer least: 19 % on the
    # synthetic digits used without ../shared/data, 20-30 % on MNIST)
    assert all(np.mean(v == 0) > 0.1 for v in w.values())
    assert sum(int((v == 0).sum()) for v in w.values()) > 0.5 * sum(v.size for v in w.values())
