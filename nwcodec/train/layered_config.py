"""Strict config of layered training (``task: layered``): rate-scalable QAT (``method: qat``) or LCS (``lcs``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from nwcodec.config.schema import from_dict, known_keys, parse_value, spec
from nwcodec.errors import ConfigError
from nwcodec.train.config import DataSection
from nwcodec.train.models import MODELS


def _floats(key: str, v: Any) -> list[float]:
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{key}: expected a non-empty list of numbers, got {v!r}")
    return [parse_value(x, float, f"{key}[{i}]", {"ge": 0.0}) for i, x in enumerate(v)]


def _fractions(key: str, v: Any) -> list[float]:
    out = _floats(key, v)
    if any(x >= 1.0 for x in out):
        raise ConfigError(f"{key}: sparsities must be below 1")
    return out


def _ints(key: str, v: Any) -> list[int]:
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{key}: expected a non-empty list of integers, got {v!r}")
    return [parse_value(x, int, f"{key}[{i}]", {"ge": 1}) for i, x in enumerate(v)]


@dataclass
class QatSection:
    quality: float = spec(20.0, gt=0)
    factor: int = spec(2, ge=1)
    sparsity: list[float] = spec(factory=lambda: [0.0, 0.0, 0.0], parse=_fractions)
    lam: list[float] = spec(factory=lambda: [0.0, 0.0, 0.0], parse=_floats)
    task_weight: list[float] | None = spec(None, parse=lambda k, v: None if v is None else _floats(k, v))


@dataclass
class LcsSection:
    subspace: Literal["line", "point"] = "line"
    compress: Literal["sparsity", "bits"] = "sparsity"
    sparsity: list[float] = spec(factory=lambda: [0.95, 0.9, 0.5, 0.0], parse=_fractions)
    bits: list[int] = spec(factory=lambda: [3, 4, 5, 6, 7, 8], parse=_ints)
    beta: float = spec(1.0, ge=0)
    quality: float = spec(60.0, gt=0)
    lr_schedule: Literal["cosine", "constant"] = "cosine"
    alpha_sampling: Literal["endpoints", "levels"] = "endpoints"


@dataclass
class LayeredConfig:
    """A whole ``task: layered`` config."""

    method: Literal["qat", "lcs"] = "qat"
    model: str = spec("lenet5", choices=MODELS)
    epochs: int = spec(1, ge=1)
    max_steps: int | None = spec(None, ge=1)
    batch_size: int = spec(128, ge=1)
    eval_batch_size: int = spec(1000, ge=1)
    lr: float = spec(1e-3, gt=0)
    seed: int = spec(0, ge=0)
    out_dir: str = "runs/layered"
    warm_start: str | None = None
    threads: int = spec(2, ge=1)
    progress: bool = False
    data: DataSection = spec(factory=DataSection)
    qat: QatSection = spec(factory=QatSection)
    lcs: LcsSection = spec(factory=LcsSection)


KEYS = known_keys(LayeredConfig)


def validate_layered(raw: dict[str, Any]) -> dict[str, Any]:
    """A complete config (defaults filled in); ConfigError names any bad or unknown key."""
    cfg = asdict(from_dict(LayeredConfig, {k: v for k, v in raw.items() if k != "task"}))
    q = cfg["qat"]
    if len(q["lam"]) != len(q["sparsity"]) or (q["task_weight"] and len(q["task_weight"]) != len(q["sparsity"])):
        raise ConfigError("qat: lam, sparsity (and task_weight) need one entry per level")
    if sorted(cfg["lcs"]["sparsity"], reverse=True) != cfg["lcs"]["sparsity"]:
        raise ConfigError("lcs.sparsity: levels go from the sparsest to the densest")
    if sorted(cfg["lcs"]["bits"]) != cfg["lcs"]["bits"] or not all(2 <= b <= 16 for b in cfg["lcs"]["bits"]):
        raise ConfigError("lcs.bits: increasing bit widths in 2..16")
    return cfg
