"""Strict ``task: scene`` configs: every fault is a ConfigError naming the dotted key."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from nwcodec.errors import ConfigError
from nwcodec.scene.config import parse_scene_config
from nwcodec.train.dispatch import load_yaml, task_of

REPO = Path(__file__).resolve().parents[1]
GOOD = {"scene": {"generate": {"seed": 1, "resolution": 16, "n_train": 2, "n_val": 1, "n_test": 1}},
        "rate": {"lam": [0.0, 0.05], "reparam": {"prior": "logistic"}, "lr_scales": {"latent": 20.0}}}


def _with(path: str, value):
    cfg = copy.deepcopy(GOOD)
    node = cfg
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return cfg


def test_good_config_parses() -> None:
    conf = parse_scene_config(copy.deepcopy(GOOD))
    assert conf.rate.lam == (0.0, 0.05)
    assert conf.rate.reparam.prior == "logistic" and conf.rate.lr_scales.latent == 20.0
    assert conf.scene.generate.resolution == 16 and conf.scene.resolve(None) is None
    assert conf.output.dir == "runs/scene"


@pytest.mark.parametrize("name", ["scene_demo.yaml", "scene_default.yaml", "scene_bench_mlp.yaml"])
def test_shipped_configs_parse(name: str) -> None:
    cfg = load_yaml(REPO / "configs" / name)
    assert task_of(cfg) == "scene"
    parse_scene_config(cfg)


@pytest.mark.parametrize("cfg, key", [
    ({**GOOD, "extra": 1}, "extra"),
    (_with("rate.gamma", 1), "rate.gamma"),
    (_with("rate.reparam.bogus", 1), "rate.reparam.bogus"),
    (_with("rate.lr_scales.float", 1.0), "rate.lr_scales.float"),
    (_with("rate.lam", [0.1, -1.0]), "rate.lam[1]"),
    (_with("rate.lam", "big"), "rate.lam"),
    (_with("rate.lam", []), "rate.lam"),
    (_with("rate.pretrain_iters", -3), "rate.pretrain_iters"),
    (_with("scene.generate.colour", 1), "scene.generate.colour"),
    (_with("scene.generate.resolution", 4), "scene.generate.resolution"),
    (_with("scene.path", "somewhere"), "scene"),
    ({"scene": {}}, "scene"),
    ({"rate": {"lam": 0.1}}, "scene"),
    (_with("train.lr", "fast"), "train.lr"),
    (_with("model.coarse.depth", 0), "model.coarse.depth"),
    (_with("output.orbit_frames", -1), "output.orbit_frames"),
    (_with("output.where", "x"), "output.where"),
])
def test_bad_config_names_the_key(cfg: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_scene_config(cfg)
    assert str(err.value).startswith(key + ":"), str(err.value)


def test_relative_scene_path_resolves_against_config_dir_then_cwd(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "configs").mkdir()
    conf = parse_scene_config({"scene": {"path": "configs"}})
    monkeypatch.chdir(REPO)
    assert conf.scene.resolve(tmp_path) == tmp_path / "configs"
    assert conf.scene.resolve(Path("/nonexistent")) == REPO / "configs"
