"""``nwcodec train`` of a classifier config writes its ``.nwc`` beside the summary; a fresh process
decodes it (no torch model internals, only the stream) to the reported test error; ``nwcodec
encode`` refuses a reparameterized checkpoint with a clear message."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}

DECODE = r"""
import json, sys, numpy as np, torch
import nwcodec
from nwcodec.train.classify import test_error, to_tensors
from nwcodec.train.mnist import synthetic_digits
from nwcodec.train.models import build_model
summary = json.load(open(sys.argv[1]))
net = build_model(summary["model"])
nwcodec.load_into_module(net, nwcodec.decode(open(sys.argv[2], "rb").read()))
_, test = synthetic_digits(1024, 256, seed=0)
print(json.dumps({"test_error": test_error(net, to_tensors(test), 256, torch.device("cpu"))}))
"""


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nwcodec", *args], capture_output=True, text=True, env=ENV,
                          cwd=REPO, timeout=300)


def test_train_writes_stream_that_decodes_to_reported_accuracy(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = _cli("train", str(REPO / "configs" / "mnist_tiny.yaml"), "--set", f"out_dir={out}",
               "--set", "max_steps=25", "--set", "prior_refit_steps=20")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    stream = out / "model.nwc"
    assert stream.is_file() and stream.stat().st_size == summary["coded_bytes"]
    assert summary["stream"] == str(stream)
    assert 0.0 <= summary["zero_latent_share"] <= 1.0
    assert abs(summary["coded_latent_bits"] - summary["estimated_bits"]) <= 0.01 * summary["estimated_bits"]
    fresh = subprocess.run([sys.executable, "-c", DECODE, str(out / "summary.json"), str(stream)],
                           capture_output=True, text=True, env=ENV, timeout=300)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert json.loads(fresh.stdout)["test_error"] == summary["test_error"]
    assert summary["test_error"] < 0.9  # it learned something (chance is 0.9)
    refused = _cli("encode", str(out / "model_final.pt"), str(tmp_path / "x.nwc"))
    assert refused.returncode != 0
    assert "reparameterized (EPR)" in refused.stderr and "model.nwc" in refused.stderr
    assert not (tmp_path / "x.nwc").exists()
