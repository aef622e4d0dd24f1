"""Training configs are validated strictly: every bad or unknown key is named in a ConfigError."""
from __future__ import annotations

from pathlib import Path

import pytest

from nwcodec.errors import ConfigError, InputError
from nwcodec.train.config import load_config, validate_config

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["mnist_tiny", "mnist_lenet300", "mnist_lenet5", "mnist_cnn_warm"])
def test_shipped_configs_validate(name: str) -> None:
    cfg = load_config(REPO / "configs" / f"{name}.yaml")
    assert isinstance(cfg["lam"], list) and cfg["lr"]["latent"] > 0


@pytest.mark.parametrize("raw, key", [
    ({"lamda": 0.1}, "lamda"),
    ({"lam": "big"}, "lam"),
    ({"lam": [0.1, -1]}, "lam"),
    ({"epochs": 0}, "epochs"),
    ({"batch_size": 1.5}, "batch_size"),
    ({"model": "resnet"}, "model"),
    ({"resume": "yes"}, "resume"),
    ({"lr": {"latents": 0.1}}, "lr.latents"),
    ({"lr": {"prior": 0}}, "lr.prior"),
    ({"data": {"pth": "x"}}, "data.pth"),
    ({"reparam": {"prior": "gauss"}}, "reparam.prior"),
    ({"reparam": {"min_numel": "10"}}, "reparam.min_numel"),
    ({"reparam": {"init_stp": 0.1}}, "reparam.init_stp"),
    ({"pretrain_epochs": -1}, "pretrain_epochs"),
    ({"lr_decay": "linear"}, "lr_decay"),
    ({"lr": {"pretrain": -1e-3}}, "lr.pretrain"),
])
def test_bad_key_raises_config_error_naming_it(raw: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_config(raw)
    assert str(info.value).startswith(f"{key}:")


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("lam: [1, 2\n")
    with pytest.raises(ConfigError):
        load_config(bad)
    with pytest.raises(InputError):
        load_config(tmp_path / "missing.yaml")
