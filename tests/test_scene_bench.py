"""``make bench-scene`` machinery in its dry-run mode: every method and cell, resumable, report + plot,
committed results untouched (the numbers of a dry run mean nothing)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from benchmarks import scene_bench  # noqa: E402
from benchmarks.scene_report import bytes_at, matched, targets  # noqa: E402
from nwcodec.nerf.train import load_checkpoint  # noqa: E402

RESULTS = Path(scene_bench.__file__).resolve().parent / "results"


def _committed() -> dict:
    return {p.name: p.read_bytes() for p in RESULTS.glob("scene*") if p.is_file()}


@pytest.mark.slow
def test_dry_run_all_methods_resumable(tmp_path: Path, capsys) -> None:
    before = _committed()
    out = tmp_path / "bench"
    assert scene_bench.main(["--dry-run", "--out", str(out), "--threads", "1"]) == 0
    cells = out / "cells" / "procedural_24"
    rows = {p.stem: json.loads(p.read_text()) for p in cells.glob("*.json") if p.name != "info.json"}
    assert set(rows) == {"epr-grid_0.01", "epr-grid_0.1", "float32-grid_0", "post-training_30", "post-training_60",
                         "jpeg-views_50", "mlp-epr_0.01"}
    for key, r in rows.items():
        assert r["test_psnr"] > 5 and 0 < r["rays_per_second"] and len(r["view_psnr"]) == 2
        if (cells / key / "scene.nwc").is_file():  # coded cells: bytes are the stream's size
            assert r["bytes"] == (cells / key / "scene.nwc").stat().st_size
    assert rows["post-training_30"]["bytes"] < rows["post-training_60"]["bytes"] < rows["float32-grid_0"]["bytes"]
    # the second EPR cell started from the first one's float warm-up (copied, not retrained), and counts its seconds
    first, second = cells / "epr-grid_0.01", cells / "epr-grid_0.1"
    assert (second / "pretrain.pt").read_bytes() == (first / "pretrain.pt").read_bytes()
    warm = load_checkpoint(first / "pretrain.pt")["seconds"]
    assert warm > 0 and rows["epr-grid_0.1"]["train_seconds"] >= warm
    md = (out / "scene.md").read_text()
    assert "| epr-grid | lam 0.01 |" in md and "Targets:" in md and (out / "scene_rd.png").stat().st_size > 1000
    stamps = {p.name: p.stat().st_mtime_ns for p in cells.glob("*_*.json")}
    capsys.readouterr()
    assert scene_bench.main(["--dry-run", "--out", str(out), "--threads", "1"]) == 0  # resumes: nothing retrained
    assert "procedural_24: " not in capsys.readouterr().out  # no cell was run again
    assert {p.name: p.stat().st_mtime_ns for p in cells.glob("*_*.json")} == stamps
    assert _committed() == before  # --commit-results not given


def test_matched_ratio_known_answer() -> None:
    # EPR at 10 kB / 30 dB and 40 kB / 34 dB; a baseline at 20 kB / 32 dB: EPR needs 20 kB there (log-linear)
    assert bytes_at([(10_000, 30.0), (40_000, 34.0)], 32.0) == pytest.approx(20_000)
    rows = [{"method": "epr-grid", "bytes": 10_000, "test_psnr": 30.0}, {"method": "epr-grid", "bytes": 40_000, "test_psnr": 34.0},
            {"method": "jpeg-views", "bytes": 80_000, "test_psnr": 32.0}]
    m = matched(rows, "jpeg-views")
    assert len(m) == 1 and m[0]["ratio"] == pytest.approx(0.25) and m[0]["exact"]


def test_dominating_point_bounds_the_ratio() -> None:
    # the baseline (30 dB at 100 kB) lies below the EPR curve's range; EPR has 25 kB at 31 dB: ratio <= 0.25
    rows = [{"method": "epr-grid", "bytes": 25_000, "test_psnr": 31.0}, {"method": "epr-grid", "bytes": 50_000, "test_psnr": 32.0},
            {"method": "jpeg-views", "bytes": 100_000, "test_psnr": 30.0}]
    m = matched(rows, "jpeg-views")
    assert len(m) == 1 and m[0]["ratio"] == pytest.approx(0.25) and m[0]["bound"] and not m[0]["exact"]
    assert any("reached (best 0.250" in t and "upper bound" in t for t in targets(rows))
    # a baseline sharper than every EPR stream gets no bound and is never counted as reached
    rows[2] = {"method": "jpeg-views", "bytes": 100_000, "test_psnr": 33.0}
    m = matched(rows, "jpeg-views")
    assert len(m) == 1 and not m[0]["exact"] and not m[0].get("bound")
    assert any(t.startswith("<= 0.5x jpeg-views bytes: NOT reached") for t in targets(rows))
