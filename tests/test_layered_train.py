"""Layered training (``task: layered``): rate-scalable QAT and LCS export one layered stream whose recorded
per-level accuracies are re-measured here from the stream in a fresh process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nwcodec.errors import ConfigError
from nwcodec.train.dispatch import run_config
from nwcodec.train.layered_config import validate_layered

REPO = Path(__file__).resolve().parents[1]

CHECK = """
import json, sys, torch
import nwcodec
from nwcodec.codec.levels_info import layered_info
from nwcodec.train.classify import load_data, to_tensors
from nwcodec.train.layered_common import accuracy_of
from nwcodec.train.models import build_model
data = open(sys.argv[1], 'rb').read()
_, test, _ = load_data({'data': {'path': None, 'fallback': True, 'synthetic_train': 1024, 'synthetic_test': 256}, 'seed': 0})
x = to_tensors(test).tensors
info = layered_info(data)
accs = [accuracy_of(build_model(sys.argv[2]), nwcodec.decode(data, level=r['level']), x, 256) for r in info['levels']]
print(json.dumps({'recorded': [r['metrics']['accuracy'] for r in info['levels']], 'measured': accs,
                  'ends': [r['end'] for r in info['levels']]}))
"""


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.parametrize("config", ["layered_tiny_qat.yaml", "layered_tiny_lcs.yaml"])
def test_train_exports_layered_stream(config: str, tmp_path: Path) -> None:
    summary = run_config(REPO / "configs" / config, [f"out_dir={tmp_path}"])
    stream = tmp_path / "model.nwc"
    out = subprocess.run([sys.executable, "-c", CHECK, str(stream), summary["model"]], capture_output=True,
                         text=True, check=True, cwd=REPO, env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    got = json.loads(out.stdout)
    assert got["recorded"] == got["measured"] == [lv["accuracy"] for lv in summary["levels"]]
    assert got["ends"] == sorted(got["ends"]) and len(got["ends"]) >= 3
    assert max(got["measured"]) > 0.5       # it learned (10 classes: chance is 0.1)
    if "qat" in config:                      # every prefix is a usable model, and refining helps
        assert min(got["measured"]) > 0.3 and got["measured"][-1] >= got["measured"][0]


@pytest.mark.parametrize("bad", [{"method": "x"}, {"qat": {"lam": [0.1]}}, {"lcs": {"sparsity": [0.5, 0.9]}},
                                 {"lcs": {"bits": [1, 2]}}, {"nope": 1}, {"qat": {"sparsity": [1.0, 0, 0]}},
                                 {"lcs": {"alpha_sampling": "middle"}}, {"lcs": {"lr_schedule": "step"}}])
def test_config_errors(bad: dict) -> None:
    with pytest.raises(ConfigError):
        validate_layered(bad)


def test_lcs_alpha_draws_and_step_count() -> None:
    """Known answers: half the draws hit the picks (each equally often), the rest are uniform; ``levels``
    picks are the exported levels' α; ``n_steps`` counts what ``batches`` yields (the cosine's length)."""
    import numpy as np
    import torch

    from nwcodec.train.layered_common import batches
    from nwcodec.train.layered_lcs import alpha_picks, draw_alpha, n_steps

    cfg = validate_layered({"method": "lcs", "lcs": {"compress": "bits", "bits": [3, 4, 8],
                                                     "alpha_sampling": "levels"}})
    picks = alpha_picks(cfg)
    assert picks == [0.0, 0.2, 1.0]
    assert alpha_picks(validate_layered({"method": "lcs"})) == [0.0, 1.0]
    rng = np.random.default_rng(0)
    a = np.array([draw_alpha(rng, picks) for _ in range(20000)])
    hit = np.isin(a, picks)
    assert abs(hit.mean() - 0.5) < 0.02 and all(abs((a == p).mean() - 1 / 6) < 0.015 for p in picks)
    assert abs(a[~hit].mean() - 0.5) < 0.02 and a.min() >= 0 and a.max() < 1 + 1e-12
    train = (torch.zeros(1000, 1), torch.zeros(1000, dtype=torch.long))
    for epochs, max_steps in ((3, None), (3, 10)):
        c = dict(cfg, epochs=epochs, max_steps=max_steps, batch_size=64)
        assert n_steps(1000, c) == sum(1 for _ in batches(train, 64, epochs, max_steps, 0)) == (45 if max_steps is None
                                                                                               else 10)


def test_qat_ladder_level0_is_the_single_rate_encoders_steps() -> None:
    """Level 0 of the QAT ladder takes the steps ``nwcodec.encode`` would write at that quality (size rule)."""
    import numpy as np
    import torch

    import nwcodec
    from nwcodec.train.layered_qat import level_steps

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(256, 64), torch.nn.Linear(64, 8))
    names = ["0.weight", "1.weight"]
    ladder = level_steps(model, names, 30.0, 2, 2)
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    single = nwcodec.decode(nwcodec.encode(state, quality=30.0))
    for n in names:   # the single-rate stream's values are integer multiples of its step: recover it
        w = state[n]
        q = np.rint(w / ladder[0][n])
        np.testing.assert_array_equal(single[n], (q.astype(np.float32) * np.float32(ladder[0][n])))
        assert ladder[1][n] == np.float32(ladder[0][n] / np.float32(2))
