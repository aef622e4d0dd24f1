"""Untrusted scene headers: bounded field configs, checked against HEAD tensor shapes before any
torch module is built; every fault a typed BitstreamError."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from nwcodec.errors import BitstreamError, LimitExceededError, MalformedError
from nwcodec.handoff import encode
from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.specs import checked_model_config, expected_shapes
from nwcodec.scene.stream import checked_scene_header, decode_scene

REPO = Path(__file__).resolve().parents[1]
GRID = {"type": "kplanes", "aabb": [-1, -1, -1, 1, 1, 1], "render": {"n_coarse": 8, "n_fine": 0},
        "kplanes": {"resolutions": [4, 8], "channels": 2, "hidden": 4, "geo_features": 2, "color_hidden": 4,
                    "sh_degree": 0}}
HUGE_INT = int("9" * 4000)


def _tensors(cfg: dict) -> list[dict]:
    return [{"name": k, "shape": list(v)} for k, v in expected_shapes(ModelConfig.from_dict(cfg)).items()]


def _with(path: str, value) -> dict:
    import copy

    cfg = copy.deepcopy(GRID)
    *keys, last = path.split(".")
    node = cfg
    for k in keys:
        node = node[k]
    node[last] = value
    return cfg


@pytest.mark.parametrize("model", [
    {"coarse": {"depth": 1000, "width": 100000}, "fine": None, "render": {"n_fine": 0}},
    {"coarse": {"depth": 4, "width": HUGE_INT}, "fine": None, "render": {"n_fine": 0}},
    {"coarse": {"depth": 4, "width": 1e4000}, "fine": None, "render": {"n_fine": 0}},
    {"coarse": {"depth": 4, "width": 8, "pos_freqs": True}, "fine": None, "render": {"n_fine": 0}},
    _with("type", "voxels"),
    _with("type", ["kplanes"]),
    _with("kplanes.resolutions", [100000]),
    _with("kplanes.resolutions", [8] * 100),
    _with("kplanes.resolutions", []),
    _with("kplanes.channels", HUGE_INT),
    _with("kplanes.channels", 1e4000),
    _with("kplanes.sh_degree", 9),
    _with("kplanes.hidden", -1),
    _with("aabb", [HUGE_INT, 0, 0, 1, 1, 1]),
    _with("aabb", [float("inf"), 0, 0, 1, 1, 1]),
    _with("aabb", [float("nan"), 0, 0, 1, 1, 1]),
    _with("aabb", [1, 1, 1, 0, 0, 0]),
    _with("aabb", [0, 0, 1]),
    _with("render.n_coarse", HUGE_INT),
    _with("render.far", 1e4000),
    _with("render.near", HUGE_INT),
    _with("kplanes.unknown", 1),
    {**GRID, "coarse": {"depth": 2}},
    "not a mapping",
])
def test_hostile_model_configs_fail_typed_and_fast(model) -> None:
    t0 = time.perf_counter()
    with pytest.raises(BitstreamError):
        checked_model_config(model, [])
    assert time.perf_counter() - t0 < 1.0  # no allocation, no module built (loose: shared CPU)


def test_parameter_budget_is_checked_before_allocation() -> None:
    big = _with("kplanes.resolutions", [1024, 1024, 1024, 1024])
    big["kplanes"]["channels"] = 64
    with pytest.raises(LimitExceededError):
        checked_model_config(big, None)


def test_tensor_shapes_must_match_the_config() -> None:
    assert checked_model_config(GRID, _tensors(GRID)).type == "kplanes"
    wrong = _with("kplanes.channels", 3)
    with pytest.raises(MalformedError, match="shape"):
        checked_model_config(wrong, _tensors(GRID))
    with pytest.raises(MalformedError, match="missing"):
        checked_model_config(GRID, _tensors(GRID)[1:])


def test_a_stream_with_a_hostile_header_is_refused_before_the_field_is_built(monkeypatch) -> None:
    model = SceneModel(ModelConfig.from_dict(GRID))
    hostile = _with("kplanes.resolutions", [4, 8000])
    data = encode(model, kind="scene", extra={"scene": {"model": hostile, "camera": {}}}, lossless=True)
    built = []
    monkeypatch.setattr(SceneModel, "__init__", lambda self, cfg: built.append(cfg) or None)
    with pytest.raises(MalformedError):
        decode_scene(data)
    assert built == []


def test_streams_without_a_type_are_mlp() -> None:
    data = (REPO / "bitstreams" / "scenes" / "demo_scene.nwc").read_bytes()
    scene, cfg = checked_scene_header(data)
    assert "type" not in scene["model"] and cfg.type == "mlp"
