"""``nwcodec train`` of ``task: compress`` configs: each method trains, writes a stream that a fresh process
decodes to the accuracy the summary reports; bad configs fail with the key named."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nwcodec.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "compress_tiny.yaml"

FRESH_EVAL = r"""
import json, sys
import numpy as np
import nwcodec, torch
from nwcodec.train.classify import load_data, to_tensors
from nwcodec.train.models import build_model
torch.set_num_threads(1)
cfg = {"data": {"path": None, "fallback": True, "synthetic_train": 1024, "synthetic_test": 256}, "seed": 0}
_, test, _ = load_data(cfg)
x, y = to_tensors(test).tensors
net = build_model("lenet300")
nwcodec.load_into_module(net, nwcodec.decode(open(sys.argv[1], "rb").read()))
net.eval()
with torch.no_grad():
    err = float((net(x).argmax(1) != y).float().mean())
print(json.dumps({"error": err}))
"""


@pytest.mark.parametrize("method", ["deep_compression", "opq", "lc"])
def test_compress_config_writes_a_stream_that_decodes_to_its_reported_error(tmp_path: Path, method: str) -> None:
    from nwcodec.train.dispatch import run_config

    out = tmp_path / method
    s = run_config(TINY, [f"method={method}", f"out_dir={out}", "distill=0.5"])
    stream = out / "model.nwc"
    assert stream.is_file() and s["bytes"] == stream.stat().st_size
    assert json.loads((out / "summary.json").read_text())["test_error"] == s["test_error"]
    # a compressed model of 266k weights: far below float32's ~1 MB
    assert s["bytes"] < 0.1 * 4 * s["num_params"]
    # fresh process, numpy + constriction decode: the same error the run reported, and a model that learned
    r = subprocess.run([sys.executable, "-c", FRESH_EVAL, str(stream)], capture_output=True, text=True, check=True)
    err = json.loads(r.stdout)["error"]
    assert err == pytest.approx(s["test_error"], abs=1e-9)
    assert err < 0.5, f"{method}: decoded model is near chance ({err:.2f})"


@pytest.mark.parametrize("override, key", [
    ("method=pruning", "method"), ("deep_compression.keep=1.5", "deep_compression.keep"),
    ("deep_compression.bits=0", "deep_compression.bits"), ("lc.frac=0", "lc.frac"), ("distill=2", "distill"),
    ("opq.target_bytes=-1", "opq.target_bytes"), ("lc.parts=quant", "lc.parts"), ("model=resnet", "model"),
    ("lc.optimizer=lbfgs", "lc.optimizer"), ("lc.multipliers=3", "lc.multipliers"), ("lc.lr_decay=0", "lc.lr_decay"),
    ("deep_compression.weight_decay=-1", "deep_compression.weight_decay"),
])
def test_bad_compress_configs_name_the_key(override: str, key: str) -> None:
    from nwcodec.config.load import load_config

    with pytest.raises(ConfigError, match=rf"^{key.replace('.', chr(92) + '.')}"):
        load_config(TINY, [override])


def test_compress_needs_a_float_model() -> None:
    from nwcodec.config.load import load_config

    with pytest.raises(ConfigError, match="^warm_start"):
        load_config(TINY, ["pretrain_epochs=0"])


@pytest.mark.parametrize("name", ["compress_lenet300_dc", "compress_lenet300_lc", "compress_tiny"])
def test_shipped_compress_configs_validate(name: str) -> None:
    from nwcodec.config.load import load_config

    loaded = load_config(REPO / "configs" / f"{name}.yaml")
    assert loaded.task == "compress"
    cfg = loaded.validated
    if name == "compress_lenet300_lc":   # the LC reference's schedule, as nwcodec.methods.LC_REFERENCE
        from nwcodec.methods import LC_REFERENCE

        assert {k: cfg["lc"][k] for k in LC_REFERENCE} == LC_REFERENCE
