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
    ({"lam": [0.1, -1]}, "lam[1]"),
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


def test_rate_knob_keys_validated_and_lam_adapts_toward_target() -> None:
    import pytest as _pytest

    from nwcodec.errors import ConfigError as _ConfigError
    from nwcodec.train.classify import adapt_lam
    from nwcodec.train.config import validate_config as _validate

    cfg = _validate({"rate_mode": "hybrid", "target_bytes": 6000, "prior_refit_steps": 10})
    assert (cfg["rate_mode"], cfg["target_bytes"], cfg["prior_refit_steps"]) == ("hybrid", 6000.0, 10)
    assert _validate({})["rate_mode"] == "noisy" and _validate({})["target_bytes"] is None
    for bad in ({"rate_mode": "exact"}, {"target_bytes": 0}, {"prior_refit_steps": -1}):
        with _pytest.raises(_ConfigError):
            _validate(bad)
    assert adapt_lam(2.0, 9000.0, 6000.0) == 3.0      # too big: penalize more
    assert adapt_lam(2.0, 1000.0, 6000.0) == 1.0      # far too small: at most halved per epoch
    assert adapt_lam(2.0, 1000.0, None) == 2.0        # no target: lam as configured
