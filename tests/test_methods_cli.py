"""``nwcodec encode --method``: the data-free variants from the command line, decoded in a fresh process."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from nwcodec.cli import main
from tests.methods_helpers import ROOT

METHODS = ("opq", "codebook", "lowrank-sparse", "auto")
CHILD = ("import json, sys, numpy as np; from nwcodec import decode, parse\n"
         "out = {}\n"
         "for p in sys.argv[1:]:\n"
         "    a = decode(open(p, 'rb').read())\n"
         "    out[p] = {k: [str(v.dtype), list(v.shape), float(np.asarray(v, np.float64).sum())] for k, v in a.items()}\n"
         "print(json.dumps(out))")


def test_encode_methods(tmp_path, capsys) -> None:
    rng = torch.Generator().manual_seed(1)
    state = {"fc.weight": torch.randn(64, 96, generator=rng) * 0.05, "fc.bias": torch.randn(64, generator=rng),
             "emb.weight": torch.randn(40, 32, generator=rng).to(torch.bfloat16),
             "steps": torch.tensor(7, dtype=torch.int64)}
    torch.save(state, tmp_path / "m.pt")
    paths = [str(tmp_path / f"{m}.nwc") for m in METHODS]
    for m, p in zip(METHODS, paths):
        assert main(["encode", str(tmp_path / "m.pt"), p, "--method", m, "--target-size", "2500"]) == 0
        assert main(["info", p]) == 0
        size = os.path.getsize(p)
        assert size < 2500 + 600 and size < 64 * 96 * 4 / 4, (m, size)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHILD, *paths], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for p, got in json.loads(out.stdout).items():
        assert got["steps"] == ["int64", [], 7.0]
        assert got["fc.bias"][2] == pytest.approx(float(state["fc.bias"].double().sum()), rel=1e-6)
        assert got["emb.weight"][:2] == ["float32", [40, 32]] and got["fc.weight"][:2] == ["float32", [64, 96]]


def test_unknown_method_is_refused(tmp_path) -> None:
    assert main(["encode", "x.pt", str(tmp_path / "y.nwc"), "--method", "nope"]) == 2
    assert not (tmp_path / "y.nwc").exists()
