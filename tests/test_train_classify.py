"""Tiny real trainings on the synthetic digits: rate falls as lam grows; outputs and resume work."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from nwcodec.train.classify import train_classifier

REPO = Path(__file__).resolve().parents[1]


def _tiny(tmp_path: Path, **over) -> dict:
    cfg = yaml.safe_load((REPO / "configs" / "mnist_tiny.yaml").read_text())
    cfg.update(out_dir=str(tmp_path / "out"), encode=False, **over)
    return cfg


def test_sweep_rate_decreases_with_lam_and_writes_outputs(tmp_path: Path) -> None:
    result = train_classifier(_tiny(tmp_path, lam=[0.0, 8.0], max_steps=30))
    low, high = result["runs"]
    assert result["data"] == "synthetic"
    assert high["estimated_bits"] < 0.95 * low["estimated_bits"]
    assert low["test_error"] < 0.5  # it learns (chance is 0.9)
    out = Path(result["out_dir"])
    for name in ("sweep.json", "sweep.md", "rate_error.png", "lam_0/summary.json", "lam_8/summary.md",
                 "lam_8/checkpoint.pt", "lam_8/model_final.pt"):
        assert (out / name).is_file(), name
    assert (out / "rate_error.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "lam_8" / "summary.json").read_text())["bits_per_param"] == high["bits_per_param"]


def test_resume_continues_from_checkpoint(tmp_path: Path) -> None:
    first = train_classifier(_tiny(tmp_path, lam=1.0, epochs=1, max_steps=None,
                                   data={"path": None, "synthetic_train": 256, "synthetic_test": 64}))
    assert first["runs"][0]["steps"] == 4
    again = train_classifier(_tiny(tmp_path, lam=1.0, epochs=2, max_steps=None, resume=True,
                                   data={"path": None, "synthetic_train": 256, "synthetic_test": 64}))
    assert again["runs"][0]["steps"] == 8  # epoch 1 restored, only epoch 2 trained
