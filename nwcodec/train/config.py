"""Strict validation of training configs (YAML or dict): unknown or bad keys raise ConfigError."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import yaml

from nwcodec.errors import ConfigError, InputError
from nwcodec.reparam.config import ReparamConfig
from nwcodec.train.models import MODELS

Check = Callable[[str, Any], Any]


def _number(key: str, v: Any, positive: bool = False, minimum: float | None = None) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {v!r}")
    if (positive and not v > 0) or (minimum is not None and v < minimum):
        raise ConfigError(f"{key}: out of range: {v!r}")
    return float(v)


def _int(key: str, v: Any, minimum: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {v!r}")
    return v


def _opt(check: Check) -> Check:
    return lambda key, v: None if v is None else check(key, v)


def _str(key: str, v: Any) -> str:
    if not isinstance(v, str) or not v:
        raise ConfigError(f"{key}: expected a non-empty string, got {v!r}")
    return v


def _bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{key}: expected true/false, got {v!r}")
    return v


def _choice(*allowed: str) -> Check:
    def check(key: str, v: Any) -> str:
        if v not in allowed:
            raise ConfigError(f"{key}: must be one of {allowed}, got {v!r}")
        return v
    return check


def _lams(key: str, v: Any) -> list[float]:
    items = v if isinstance(v, list) else [v]
    if not items:
        raise ConfigError(f"{key}: empty list")
    return [_number(key, x, minimum=0.0) for x in items]


def _reparam(key: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise ConfigError(f"{key}: expected a mapping, got {v!r}")
    ReparamConfig.from_dict(v, where=key)
    return dict(v)


SCHEMA: dict[str, tuple[Check, Any]] = {
    "model": (_choice(*MODELS), "lenet300"),
    "lam": (_lams, [0.1]),
    "epochs": (lambda k, v: _int(k, v, 1), 1),
    "pretrain_epochs": (_int, 0),
    "lr_decay": (_choice("none", "cosine"), "none"),
    "max_steps": (_opt(lambda k, v: _int(k, v, 1)), None),
    "batch_size": (lambda k, v: _int(k, v, 1), 128),
    "eval_batch_size": (lambda k, v: _int(k, v, 1), 1000),
    "seed": (_int, 0),
    "out_dir": (_str, "runs/epr"),
    "resume": (_bool, False),
    "warm_start": (_opt(_str), None),
    "device": (_choice("auto", "cpu", "cuda"), "auto"),
    "encode": (_bool, True),
    "progress": (_bool, True),
    "reparam": (_reparam, {}),
    # rate knob: lam multiplies bits per parameter; target_bytes (optional) adapts lam each epoch
    "rate_mode": (_choice("noisy", "hybrid", "ste"), "noisy"),
    "target_bytes": (_opt(lambda k, v: _number(k, v, positive=True)), None),
    "write_stream": (_bool, True),
    "prior_refit_steps": (_int, 0),
}
SECTIONS: dict[str, dict[str, tuple[Check, Any]]] = {
    "data": {
        "path": (_opt(_str), "../shared/data/mnist.npz"),
        "fallback": (_bool, True),
        "synthetic_train": (lambda k, v: _int(k, v, 10), 4000),
        "synthetic_test": (lambda k, v: _int(k, v, 10), 1000),
    },
    "lr": {
        "latent": (lambda k, v: _number(k, v, positive=True), 1.0),
        "decoder": (lambda k, v: _number(k, v, positive=True), 1e-3),
        "offset": (lambda k, v: _number(k, v, positive=True), 1e-5),
        "prior": (lambda k, v: _number(k, v, positive=True), 1e-2),
        "float": (lambda k, v: _number(k, v, positive=True), 1e-3),
        "pretrain": (lambda k, v: _number(k, v, positive=True), 1e-3),
    },
}


def _section(name: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{name}: expected a mapping, got {raw!r}")
    schema = SECTIONS[name]
    for key in raw:
        if key not in schema:
            raise ConfigError(f"{name}.{key}: unknown key (known: {', '.join(schema)})")
    return {key: check(f"{name}.{key}", raw.get(key, copy.deepcopy(default)))
            for key, (check, default) in schema.items()}


def validate_config(raw: dict[str, Any]) -> dict[str, Any]:
    """Return a complete config (defaults filled in); ConfigError names any bad or unknown key."""
    if not isinstance(raw, dict):
        raise ConfigError(f"<root>: expected a mapping, got {type(raw).__name__}")
    for key in raw:
        if key not in SCHEMA and key not in SECTIONS:
            raise ConfigError(f"{key}: unknown key (known: {', '.join([*SCHEMA, *SECTIONS])})")
    cfg = {key: check(key, raw.get(key, copy.deepcopy(default))) for key, (check, default) in SCHEMA.items()}
    cfg.update({name: _section(name, raw.get(name)) for name in SECTIONS})
    return cfg


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a YAML config file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"<root>: invalid YAML in {path}: {exc}") from exc
    return validate_config(raw or {})
