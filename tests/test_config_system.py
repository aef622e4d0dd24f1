"""The one config system (nwcodec.config): dotted-path errors, did-you-mean hints, task dispatch,
``--set`` overrides validated like the file, and paths resolved against the config file's directory."""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
import yaml

from nwcodec.config import TASKS, from_dict, load_config, spec
from nwcodec.config.load import prepare
from nwcodec.errors import ConfigError
from nwcodec.train.dispatch import RUNNERS

SCENE = {"task": "scene", "scene": {"generate": {"seed": 1, "resolution": 16, "n_train": 2, "n_val": 1, "n_test": 1}},
         "train": {"iters": 10}, "rate": {"lam": [0.0, 0.05]}}
PACK = {"task": "pack", "scenes": [{"generate": {"seed": 1, "resolution": 16}}, {"path": "a"}]}


def _write(path: Path, cfg: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def _error(cfg: dict, overrides: list[str] | None = None, config_dir: Path | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        prepare(copy.deepcopy(cfg), config_dir, overrides)
    return str(info.value)


@dataclass
class Inner:
    rate: float = spec(1.0, gt=0)
    mode: Literal["fast", "slow"] = "fast"


@dataclass
class Outer:
    name: str = "x"
    steps: list[int] = spec(factory=lambda: [1], ge=1)
    inner: Inner = field(default_factory=Inner)


def test_generic_schema_names_the_dotted_path_and_bound() -> None:
    assert from_dict(Outer, {"inner": {"rate": "2.5"}}).inner.rate == 2.5   # YAML 1.1 float strings
    cases = [({"inner": {"rate": "abc"}}, "inner.rate: expected a number > 0, got 'abc'"),
             ({"inner": {"rate": 0}}, "inner.rate: expected a number > 0, got 0"),
             ({"steps": [1, 0]}, "steps[1]: expected an integer >= 1, got 0"),
             ({"inner": {"mode": "slwo"}}, "inner.mode: expected one of fast, slow, got 'slwo'; did you mean 'slow'?"),
             ({"inner": {"rat": 1}}, "inner.rat: unknown key; did you mean 'rate'?"),
             ({"inner": {"zzz": 1}}, "inner.zzz: unknown key (known: rate, mode)"),
             ({"inner": [1]}, "inner: expected a mapping, got list")]
    for raw, msg in cases:
        with pytest.raises(ConfigError) as info:
            from_dict(Outer, raw)
        assert str(info.value) == msg


def test_every_task_reports_dotted_paths_with_hints() -> None:
    assert _error({"task": "classify", "lr": {"latent": "abc"}}) == "lr.latent: expected a number > 0, got 'abc'"
    assert _error({"task": "classify", "epoch": 2}) == "epoch: unknown key; did you mean 'epochs'?"
    assert _error({"task": "classify", "model": "lenet50"}).startswith("model: expected one of ")
    assert _error({**SCENE, "rate": {"lamm": 1}}).startswith("rate.lamm: unknown key; did you mean 'lam'?")
    assert _error({**SCENE, "train": {"lrr": 1}}) == "train.lrr: unknown key; did you mean 'lr'?"
    assert _error({**SCENE, "train": {"lr": "abc"}}) == "train.lr: expected a number, got 'abc'"
    assert _error({"task": "layered", "qat": {"lam": [0.1, -1, 0]}}) == "qat.lam[1]: expected a number >= 0, got -1"
    assert _error({"task": "pack", "scenes": [{"generate": {"sed": 1}}]}) == \
        "scenes[0].generate.sed: unknown key; did you mean 'seed'?"


def test_task_dispatch_explicit_inferred_and_misspelled() -> None:
    assert set(RUNNERS) == set(TASKS) == {"classify", "scene", "pack", "layered", "compress"}
    assert prepare(copy.deepcopy(SCENE), None).task == "scene"
    assert prepare({"task": "classify"}, None).validated["model"] == "lenet300"
    no_task = {k: v for k, v in SCENE.items() if k != "task"}
    for cfg, task in ((no_task, "scene"), ({"scenes": PACK["scenes"][:1]}, "pack"),
                      ({"method": "lcs"}, "layered"), ({"epochs": 2}, "classify")):
        with pytest.warns(FutureWarning, match=f"inferred 'task: {task}'"):
            assert prepare(copy.deepcopy(cfg), None).task == task
    assert _error({"task": "scen"}) == "task: expected one of classify, scene, pack, layered, compress, got 'scen'; " \
                                      "did you mean 'scene'?"
    # a misspelled ``scene:`` no longer turns a scene config into a classifier config
    typo = {"scen": SCENE["scene"], "train": {"iters": 10}}
    with pytest.warns(FutureWarning):
        assert _error(typo) == "scen: unknown key; did you mean 'scene'?"


def test_overrides_are_validated_like_the_file() -> None:
    loaded = prepare(copy.deepcopy(SCENE), None, ["train.iters=5", "rate.lam=[0.1, 0.2]", "output.dir=out/x"])
    conf = loaded.validated
    assert (conf.train.iters, conf.rate.lam, conf.output.dir) == (5, (0.1, 0.2), "out/x")
    assert _error(SCENE, ["train.iters=abc"]) == "train.iters: expected an integer, got 'abc'"
    assert _error(SCENE, ["train.itres=3"]) == "train.itres: unknown key; did you mean 'iters'?"
    assert _error(SCENE, ["train.iters"]) == "--set 'train.iters': expected KEY=VALUE"
    assert _error(SCENE, ["train.iters.x=1"]) == "train.iters: is not a mapping (--set train.iters.x)"
    pack = prepare(copy.deepcopy(PACK), Path("/nonexistent"), ["scenes.0.generate.seed=7"]).validated
    assert pack.scenes[0].generate.seed == 7
    assert _error(PACK, ["scenes.5.path=x"]) == "scenes.5: expected a list index below 2"
    assert prepare({"task": "classify"}, None, ["lr.latent=2"]).validated["lr"]["latent"] == 2.0


def test_paths_resolve_against_the_config_file_not_the_cwd(tmp_path: Path, monkeypatch) -> None:
    cfg_dir = tmp_path / "project" / "cfgs"
    (cfg_dir / "scenes" / "lego").mkdir(parents=True)
    (cfg_dir / "digits.npz").write_bytes(b"")
    path = _write(cfg_dir / "c.yaml", {"task": "classify", "data": {"path": "digits.npz"}, "warm_start": "../w.pt"})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_config(path)
    assert loaded.validated["data"]["path"] == str(cfg_dir / "digits.npz")
    assert loaded.config_dir == cfg_dir
    # not found next to the config or in the cwd: reported at the config-relative place
    assert loaded.validated["warm_start"] == str(tmp_path / "project" / "w.pt")
    scene = _write(cfg_dir / "s.yaml", {"task": "scene", "scene": {"path": "scenes/lego"}})
    assert load_config(scene).raw["scene"]["path"] == str(cfg_dir / "scenes" / "lego")
    pack = _write(cfg_dir / "p.yaml", {"task": "pack", "scenes": [{"path": "scenes/lego"}], "base": "b.nwc"})
    raw = load_config(pack).raw
    assert (raw["scenes"][0]["path"], raw["base"]) == (str(cfg_dir / "scenes" / "lego"), str(cfg_dir / "b.nwc"))


def test_data_paths_come_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    path = _write(tmp_path / "c.yaml", {"task": "classify", "data": {"path": "${NWCODEC_DATA}/mnist.npz"}})
    monkeypatch.delenv("NWCODEC_DATA", raising=False)
    with pytest.raises(ConfigError, match=r"^data\.path: environment variable NWCODEC_DATA is not set"):
        load_config(path)
    monkeypatch.setenv("NWCODEC_DATA", str(tmp_path / "data"))
    assert load_config(path).validated["data"]["path"] == str(tmp_path / "data" / "mnist.npz")
    dflt = _write(tmp_path / "d.yaml", {"task": "classify", "data": {"path": "${NO_SUCH_VAR_X:-rel}/m.npz"}})
    assert load_config(dflt).validated["data"]["path"] == str(tmp_path / "rel" / "m.npz")


def test_shipped_configs_load_with_an_explicit_task() -> None:
    from nwcodec import resources

    names = resources.list_configs()
    assert {"mnist_tiny", "scene_tiny", "pack_tiny", "layered_tiny_qat"} <= set(names)
    for name in names:
        raw = yaml.safe_load(resources.config_path(name).read_text())
        if name.startswith(("mnist_", "pack_", "layered_", "compress_")):
            assert raw.get("task") in TASKS, name
    with pytest.raises(Exception, match="did you mean 'mnist_tiny'"):
        resources.config_path("mnist_tiyn")
    assert os.path.samefile(resources.configs_dir(), Path(__file__).resolve().parents[1] / "configs")
