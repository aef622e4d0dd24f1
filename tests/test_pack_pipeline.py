"""``nwcodec train configs/pack_tiny.yaml``, its frozen-base mode, config errors, and the pack conformance pair."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import nwcodec
from nwcodec.errors import ConfigError
from nwcodec.scene.pack import decode_pack_scene
from nwcodec.train.dispatch import load_yaml, run_config
from nwcodec.codec.digest import tensor_digest

REPO = Path(__file__).resolve().parents[1]
PACKS = REPO / "bitstreams" / "packs"


def test_train_pack_config_writes_streams(tmp_path: Path) -> None:
    out = tmp_path / "pack"
    summary = run_config(REPO / "configs" / "pack_tiny.yaml", [f"output.dir={out}", "train.iters=20"])
    files = sorted(p.name for p in out.iterdir())
    assert {"base.nwc", "scene_0.nwc", "scene_1.nwc", "scene_2.nwc", "summary.json", "summary.md"} <= set(files)
    assert json.loads((out / "summary.json").read_text())["total_bytes"] == summary["total_bytes"]
    assert summary["total_bytes"] == sum((out / f).stat().st_size for f in files if f.endswith(".nwc"))
    assert all(s["test_psnr"] > 8 for s in summary["scenes"])
    added = run_config(REPO / "configs" / "pack_tiny.yaml",
                       [f"output.dir={tmp_path / 'added'}", "train.iters=20", f"base={out / 'base.nwc'}",
                        "scenes=[{generate: {seed: 5, resolution: 24, n_train: 4, n_val: 1, n_test: 1}}]"])
    assert added["base_reused"] and added["total_bytes"] == added["scenes"][0]["bytes"]
    decode_pack_scene((out / "base.nwc").read_bytes(), (tmp_path / "added" / "scene_0.nwc").read_bytes())


def test_bad_pack_config_names_the_key(tmp_path: Path) -> None:
    cfg = REPO / "configs" / "pack_tiny.yaml"
    with pytest.raises(ConfigError, match=r"pack\.lamda"):
        run_config(cfg, ["pack.lamda=1"])
    with pytest.raises(ConfigError, match=r"scenes\[0\]"):
        run_config(cfg, ["scenes=[{path: a, generate: {seed: 1}}]"])
    with pytest.raises(ConfigError, match="base"):
        run_config(cfg, [f"base={tmp_path / 'none.nwc'}", f"output.dir={tmp_path}"])
    assert load_yaml(cfg)["task"] == "pack"


def test_conformance_pair_decodes_to_its_digests() -> None:
    base, scene = (PACKS / "base.nwc").read_bytes(), (PACKS / "scene_0.nwc").read_bytes()
    assert nwcodec.parse(base).version == (1, 0) and nwcodec.parse(scene).version == (1, 1)
    assert tensor_digest(nwcodec.decode(base)) == (PACKS / "base.sha256").read_text().split()[0]
    assert tensor_digest(nwcodec.decode(scene, base=base)) == (PACKS / "scene_0.sha256").read_text().split()[0]
    assert any(t["coding"] == "residual" for t in nwcodec.parse(scene).tensors)
    with pytest.raises(nwcodec.BaseMismatchError):
        nwcodec.decode(scene)
    decode_pack_scene(base, scene)
