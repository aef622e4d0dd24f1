"""Tiny real trainings on the synthetic digits: rate falls as lam grows; outputs and resume work."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from nwcodec.train.classify import make_schedule, train_classifier

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


def test_pretrain_then_epr_reports_both_table_modes(tmp_path: Path) -> None:
    cfg = _tiny(tmp_path, lam=4.0, pretrain_epochs=2, max_steps=None, epochs=1, lr_decay="cosine",
                data={"path": None, "synthetic_train": 512, "synthetic_test": 256})
    cfg["encode"] = True
    run = train_classifier(cfg)["runs"][0]
    assert (tmp_path / "out" / "pretrained.pt").is_file()
    assert run["warm_start_test_error"] < 0.3  # the float pre-training learned (chance is 0.9)
    notes = sum(len(n.encode()) + 12 for n in run["notes"])  # a note chunk per empirical group
    assert run["coded_bytes"] <= min(run["coded_bytes_prior_tables"], run["coded_bytes_auto_tables"]) + notes
    assert abs(run["coded_latent_bits"] - run["estimated_bits"]) < 0.01 * run["estimated_bits"]
    assert (tmp_path / "out" / "model.nwc").stat().st_size == run["coded_bytes"]
    assert run["header_bytes"] > 0 and run["table_bytes"] > 0 and run["latent_payload_bytes"] > 0
    assert 0 < run["nonzero_latents"] < run["num_params"]


def test_cosine_schedule_decays_to_zero() -> None:
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    sched = make_schedule(opt, "cosine", 10)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0.5 and all(a > b for a, b in zip(lrs, lrs[1:])) and opt.param_groups[0]["lr"] == 0.0


def test_distill_loss_known_answers() -> None:
    from nwcodec.methods.distill import distill_loss

    torch.manual_seed(0)
    teacher = torch.nn.Linear(6, 4)
    x = torch.randn(32, 6)
    ce = torch.tensor(1.25)
    same = distill_loss(teacher(x), teacher, x, ce, 0.5, 2.0)
    assert float(same) == pytest.approx(0.625, abs=1e-6)          # student = teacher: KL is 0
    other = torch.randn(32, 4)
    p_t = torch.softmax(teacher(x) / 2.0, 1)
    kl = (p_t * (torch.log(p_t) - torch.log_softmax(other / 2.0, 1))).sum(1).mean()
    got = distill_loss(other, teacher, x, ce, 0.3, 2.0)
    assert float(got) == pytest.approx(float(0.7 * ce + 0.3 * 4.0 * kl), rel=1e-5)


def test_distilled_run_trains_and_codes(tmp_path: Path) -> None:
    run = train_classifier(_tiny(tmp_path, lam=1.0, max_steps=20, distill=0.5, pretrain_epochs=1,
                                 data={"path": None, "synthetic_train": 256, "synthetic_test": 64}))["runs"][0]
    assert run["test_error"] < 0.6 and run["estimated_bits"] > 0
