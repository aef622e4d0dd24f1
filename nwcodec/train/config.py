"""Strict validation of classifier training configs (``task: classify``) on the :mod:`nwcodec.config` schema.

:func:`validate_config` returns the complete config as a plain dict (defaults filled in); every bad
or unknown key raises ConfigError naming its dotted path (with a "did you mean" hint).
"""
from __future__ import annotations

import builtins
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from nwcodec.config.schema import from_dict, known_keys, parse_value, spec
from nwcodec.errors import ConfigError, InputError
from nwcodec.reparam.config import ReparamConfig
from nwcodec.train.models import MODELS


def _lams(key: str, v: Any) -> list[float]:
    """One rate weight or a list (a sweep), each >= 0."""
    items = v if isinstance(v, list) else [v]
    if not items:
        raise ConfigError(f"{key}: empty list")
    return [parse_value(x, float, f"{key}[{i}]" if isinstance(v, list) else key, {"ge": 0.0})
            for i, x in enumerate(items)]


def _unit_weight(key: str, v: Any) -> float:
    """A weight in [0, 1]."""
    x = parse_value(v, float, key, {"ge": 0.0})
    if x > 1.0:
        raise ConfigError(f"{key}: must be <= 1, got {x}")
    return x


def _reparam(key: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"{key}: expected a mapping, got {v!r}")
    ReparamConfig.from_dict(v, where=key)
    return dict(v)


@dataclass
class DataSection:
    """MNIST (``path``: an ``.npz``) or, without it (or missing with ``fallback``), synthetic digits."""

    path: str | None = "../shared/data/mnist.npz"
    fallback: bool = True
    synthetic_train: int = spec(4000, ge=10)
    synthetic_test: int = spec(1000, ge=10)


@dataclass
class LrSection:
    """Learning rates per parameter group (``builtins.float``: a field is named ``float``)."""

    latent: builtins.float = spec(1.0, gt=0)
    decoder: builtins.float = spec(1e-3, gt=0)
    offset: builtins.float = spec(1e-5, gt=0)
    prior: builtins.float = spec(1e-2, gt=0)
    float: builtins.float = spec(1e-3, gt=0)  # noqa: A003 - the config key
    pretrain: builtins.float = spec(1e-3, gt=0)


@dataclass
class ClassifyConfig:
    """A whole ``task: classify`` config."""

    model: str = spec("lenet300", choices=MODELS)
    lam: list[float] = spec(factory=lambda: [0.1], parse=_lams)
    epochs: int = spec(1, ge=1)
    pretrain_epochs: int = spec(0, ge=0)
    lr_decay: Literal["none", "cosine"] = "none"
    max_steps: int | None = spec(None, ge=1)
    batch_size: int = spec(128, ge=1)
    eval_batch_size: int = spec(1000, ge=1)
    seed: int = spec(0, ge=0)
    out_dir: str = "runs/epr"
    resume: bool = False
    warm_start: str | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    encode: bool = True
    progress: bool = True
    reparam: dict = spec(factory=dict, parse=_reparam)
    # rate knob: lam multiplies bits per parameter; target_bytes (optional) adapts lam each epoch
    rate_mode: Literal["noisy", "hybrid", "ste"] = "noisy"
    target_bytes: float | None = spec(None, gt=0)
    write_stream: bool = True
    prior_refit_steps: int = spec(0, ge=0)
    # distill: weight of the float (warm-start) model's soft predictions in the task loss (0 = plain CE)
    distill: float = spec(0.0, parse=_unit_weight)
    distill_temperature: float = spec(2.0, gt=0)
    data: DataSection = spec(factory=DataSection)
    lr: LrSection = spec(factory=LrSection)


KEYS = known_keys(ClassifyConfig)


def validate_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Return a complete config (defaults filled in); ConfigError names any bad or unknown key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"<root>: expected a mapping, got {type(raw).__name__}")
    if raw.get("task", "classify") != "classify":
        raise ConfigError(f"task: expected classify here, got {raw['task']!r}")
    return asdict(from_dict(ClassifyConfig, {k: v for k, v in raw.items() if k != "task"}))


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a classifier YAML config (input paths resolved by :mod:`nwcodec.config.load`)."""
    from nwcodec.config.load import load_config as load_any

    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    loaded = load_any(path)
    if loaded.task != "classify":
        raise ConfigError(f"task: expected classify here, got {loaded.task!r}")
    return loaded.validated
