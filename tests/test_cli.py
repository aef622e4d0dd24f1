"""The nwcodec CLI: round trips, info, and one-line errors that leave no partial output."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nwcodec.cli import main


@pytest.fixture()
def model_path(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.BatchNorm1d(64), torch.nn.Linear(64, 4))
    p = tmp_path / "m.pt"
    torch.save(net.state_dict(), p)
    return p


def test_encode_info_decode_roundtrip(model_path: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "m.nwc"
    assert main(["encode", str(model_path), str(out), "--quality", "70"]) == 0
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bits/param" in text and "0.weight" in text and "1.num_batches_tracked" in text
    for suffix in (".safetensors", ".pt"):
        dec = tmp_path / f"d{suffix}"
        assert main(["decode", str(out), str(dec)]) == 0
        assert dec.is_file()
    sd = torch.load(model_path, weights_only=True)
    got = torch.load(tmp_path / "d.pt", weights_only=True)
    assert torch.equal(got["1.num_batches_tracked"], sd["1.num_batches_tracked"])
    rel = (got["0.weight"] - sd["0.weight"]).norm() / sd["0.weight"].norm()
    assert 0 < rel < 0.04      # quality 70: mean relative noise 10^-3.5, spread by size over the tensors
    tensor = tmp_path / "t.nwc"
    assert main(["encode", str(model_path), str(tensor), "--quality", "70", "--allocation", "tensor"]) == 0
    assert main(["decode", str(tensor), str(tmp_path / "t.pt")]) == 0
    got = torch.load(tmp_path / "t.pt", weights_only=True)
    rel = (got["0.weight"] - sd["0.weight"]).norm() / sd["0.weight"].norm()
    assert 0.012 < rel < 0.024  # every tensor at 10^(-70/40) = 0.0178
    assert main(["encode", str(model_path), str(tensor), "--allocation", "bits"]) == 2


def test_lossless_cli_is_bit_exact(model_path: Path, tmp_path: Path) -> None:
    out, dec = tmp_path / "m.nwc", tmp_path / "d.safetensors"
    assert main(["encode", str(model_path), str(out), "--lossless"]) == 0
    assert main(["decode", str(out), str(dec)]) == 0
    from safetensors.numpy import load_file

    got = load_file(str(dec))
    for k, v in torch.load(model_path, weights_only=True).items():
        assert np.array_equal(got[k], v.numpy()), k


@pytest.mark.parametrize("case", ["missing", "truncated", "garbage", "bad_suffix", "bad_model"])
def test_errors_are_one_line_and_leave_nothing(case: str, model_path: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.nwc"
    assert main(["encode", str(model_path), str(good)]) == 0
    src, out = tmp_path / "in.nwc", tmp_path / "out.pt"
    cmd = ["decode", str(src), str(out)]
    if case == "missing":
        src = tmp_path / "nope.nwc"
        cmd = ["decode", str(src), str(out)]
    elif case == "truncated":
        src.write_bytes(good.read_bytes()[:-40])
    elif case == "garbage":
        src.write_bytes(b"PK\x03\x04 not a bitstream")
    elif case == "bad_suffix":
        src.write_bytes(good.read_bytes())
        out = tmp_path / "out.txt"
        cmd = ["decode", str(src), str(out)]
    else:
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"\x80\x04not a pickle at all")
        out = tmp_path / "o.nwc"
        cmd = ["encode", str(bad), str(out)]
    r = subprocess.run([sys.executable, "-m", "nwcodec", *cmd], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nwcodec: error:"), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
