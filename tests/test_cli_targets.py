"""``encode --target-size/--target-fidelity`` (data-free allocation), ``eval`` and ``plot``.

The real-model check reproduces the README's MNIST row from the command line: the shared CNN at 40KB keeps
its accuracy (skipped when ../shared/data is absent)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nwcodec
from nwcodec.cli import main
from nwcodec.codec.sources import load_source
from nwcodec.codec.targets import fidelity_to_distortion, measured_distortion, search

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CNN, MNIST = SHARED / "models" / "mnist_cnn.pth", SHARED / "mnist.npz"


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    from nwcodec.formats import write_safetensors

    rng = np.random.default_rng(1)
    arrays = {"small.weight": rng.normal(0, 0.3, (16, 8)).astype(np.float32),
              "big.weight": rng.normal(0, 0.05, (256, 128)).astype(np.float32),
              "big.bias": rng.normal(0, 0.01, 256).astype(np.float32)}
    p = tmp_path / "m.safetensors"
    write_safetensors(p, arrays)
    return p


@pytest.mark.parametrize("size", [6000, 12000])
def test_target_size_is_met_closely(model: Path, tmp_path: Path, size: int) -> None:
    out = tmp_path / "o.nwc"
    assert main(["encode", str(model), str(out), "--target-size", f"{size / 1000:g}KB"]) == 0
    n = out.stat().st_size
    assert 0.97 * size <= n <= size
    steps = {t["name"]: t["coding"] for t in nwcodec.parse(out.read_bytes()).tensors}
    assert steps["big.weight"] == "quant" and steps["big.bias"] in ("bytes", "raw")


def test_larger_tensors_get_coarser_relative_steps(model: Path) -> None:
    src = load_source(str(model))
    r = search(src, lambda st: nwcodec.encode(src, steps=st), target_size=8000)
    rel = {k: h / float(np.sqrt(np.mean(src.arrays[k] ** 2))) for k, h in r.steps.items()}
    assert rel["big.weight"] > 4 * rel["small.weight"]          # sqrt(32768 / 128) = 16 in the model


def test_target_fidelity(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "o.nwc"
    assert main(["encode", str(model), str(out), "--target-fidelity", "20dB"]) == 0
    src = load_source(str(model))
    dec = nwcodec.decode(out.read_bytes())
    steps_d = sum(float(np.mean((dec[k] - src.arrays[k]) ** 2) / np.mean(src.arrays[k] ** 2))
                  for k in ("small.weight", "big.weight"))
    assert steps_d <= fidelity_to_distortion("20dB") * 1.001
    assert steps_d > fidelity_to_distortion("20dB") * 0.8          # and not much finer than asked
    coarser = tmp_path / "c.nwc"
    assert main(["encode", str(model), str(coarser), "--target-fidelity", "10dB"]) == 0
    assert coarser.stat().st_size < out.stat().st_size


def test_unreachable_size_is_one_line(model: Path, tmp_path: Path, capsys) -> None:
    assert main(["encode", str(model), str(tmp_path / "o.nwc"), "--target-size", "300"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()      # progress lines, then the one error line
    assert lines[-1].startswith("nwcodec: error: cannot reach 300 bytes: the smallest stream is")
    assert sum("error" in line for line in lines) == 1
    assert not (tmp_path / "o.nwc").exists()


def test_measured_distortion_known_answer() -> None:
    """Step h on values uniform in many bins: MSE ≈ h²/12 (independent of the code under test)."""
    from nwcodec.codec.sources import Source

    w = np.random.default_rng(0).uniform(-1, 1, (200, 500)).astype(np.float32)
    d = measured_distortion(Source({"w": w}, {"w": "float32"}), {"w": 0.01})
    assert d == pytest.approx((0.01 ** 2 / 12) / (1 / 3), rel=0.02)


def test_eval_and_plot(model: Path, tmp_path: Path, capsys) -> None:
    rows = []
    for size in ("6KB", "9KB", "12KB"):
        out = tmp_path / f"{size}.nwc"
        assert main(["encode", str(model), str(out), "--target-size", size]) == 0
        capsys.readouterr()
        assert main(["eval", str(out), "--reference", str(model), "--json"]) == 0
        rows.append(json.loads(capsys.readouterr().out))
    assert rows[0]["cosine"] < rows[1]["cosine"] < rows[2]["cosine"] < 1
    (tmp_path / "ours.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "cai.json").write_text(json.dumps({"name": "baseline", "results": {"bytes": [7000, 11000],
                                                                                   "cosine": [0.9, 0.95]}}))
    png = tmp_path / "rd.png"
    assert main(["plot", str(tmp_path / "ours.jsonl"), str(tmp_path / "cai.json"), "--y", "cosine",
                 "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "2 series" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not (CNN.is_file() and MNIST.is_file()), reason="needs ../shared/data (MNIST CNN and MNIST)")
def test_mnist_cnn_at_40kb_from_the_cli(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cnn.nwc"
    assert main(["encode", str(CNN), str(out), "--target-size", "40KB"]) == 0
    assert 39_000 <= out.stat().st_size <= 40_000
    capsys.readouterr()
    assert main(["eval", str(out), "--dataset", str(MNIST), "--arch", "mnist_cnn", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["accuracy"] >= 98.9          # the float model: 99.05 %


def test_calibration_needs_arch_and_a_target(model: Path, tmp_path: Path, capsys) -> None:
    out = str(tmp_path / "o.nwc")
    assert main(["encode", str(model), out, "--target-size", "6KB", "--calibration", str(MNIST)]) == 1
    assert main(["encode", str(model), out, "--calibration", str(MNIST), "--arch", "mnist_cnn"]) == 1
    assert capsys.readouterr().err.count("--calibration needs --arch and --target-size") == 2


@pytest.mark.slow
@pytest.mark.skipif(not (CNN.is_file() and MNIST.is_file()), reason="needs ../shared/data (MNIST CNN and MNIST)")
def test_mnist_cnn_calibrated_allocation(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cnn.nwc"
    assert main(["encode", str(CNN), str(out), "--target-size", "40KB", "--calibration", str(MNIST),
                 "--arch", "mnist_cnn"]) == 0
    assert 39_000 <= out.stat().st_size <= 40_000 and "calibrated on" in capsys.readouterr().out
    assert main(["eval", str(out), "--dataset", str(MNIST), "--arch", "mnist_cnn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] >= 98.8      # measured 98.99 % (float: 99.05 %)
