"""Deep Compression on a small LeNet-300-100: prune, retrain, share, fine-tune, decode in a fresh process."""
from __future__ import annotations

import numpy as np

from nwcodec import parse
from nwcodec.methods import DCConfig, deep_compression
from nwcodec.methods.common import accuracy
from tests.methods_helpers import check_method, loaders, trained_lenet300


def test_deep_compression(tmp_path) -> None:
    trl, tel, x, y = loaders()
    model = trained_lenet300(trl, 3)
    base = accuracy(model, tel)
    data = deep_compression(model, trl, DCConfig(keep={"fc1.weight": 0.1, "fc2.weight": 0.15, "fc3.weight": 0.4},
                                                 bits=4, retrain_epochs=2, prune_steps=2, finetune_epochs=0.5,
                                                 retrain_lr=2e-3))
    ps = parse(data)
    coded = {t["name"]: t for t in ps.tensors if t["coding"] == "codebook"}
    assert set(coded) == {"fc1.weight", "fc2.weight", "fc3.weight"} and all(t["size"] <= 16 for t in coded.values())
    w = model.fc1.weight.detach().numpy()
    assert 0.08 < np.mean(w != 0) < 0.12                     # pruned to ~10 %
    assert len(data) < 266_610 * 4 / 20                       # > 20x smaller than float32
    check_method(model, data, tel, x, y, tmp_path, base, max_drop=0.03)
