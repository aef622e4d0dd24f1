"""Strict config of ``task: compress``: one weight-compression method (Deep Compression, OPQ, LC) on a classifier."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from nwcodec.config.schema import from_dict, known_keys, parse_value, spec
from nwcodec.errors import ConfigError
from nwcodec.train.config import DataSection, _unit_weight
from nwcodec.train.models import MODELS


def _per_tensor(kind: type, bounds: dict) -> Any:
    """A number for every tensor, or a mapping ``tensor name -> number``."""
    def parse(key: str, v: Any) -> Any:
        if isinstance(v, dict):
            if not v:
                raise ConfigError(f"{key}: expected a number or a non-empty mapping of tensor names to numbers")
            return {str(n): parse_value(x, kind, f"{key}.{n}", bounds) for n, x in v.items()}
        return parse_value(v, kind, key, bounds)
    return parse


def _fraction(key: str, v: Any) -> float:
    x = parse_value(v, float, key, {"gt": 0.0})
    if x > 1.0:
        raise ConfigError(f"{key}: must be in (0, 1], got {x:g}")
    return x


def _per_tensor_at_most(kind: type, bounds: dict, top: float, what: str) -> Any:
    """:func:`_per_tensor` with an upper bound ``top`` on every number."""
    def parse(key: str, v: Any) -> Any:
        out = _per_tensor(kind, bounds)(key, v)
        for name, x in (out.items() if isinstance(out, dict) else [("", out)]):
            if x > top:
                raise ConfigError(f"{key}{'.' + name if name else ''}: {what}, got {x:g}")
        return out
    return parse


_keep = _per_tensor_at_most(float, {"gt": 0.0}, 1.0, "a keep fraction must be in (0, 1]")
_bits = _per_tensor_at_most(int, {"ge": 1}, 12, "codebook bits must be in 1..12")


@dataclass
class DeepCompressionSection:
    keep: Any = spec(0.1, parse=_keep)
    bits: Any = spec(5, parse=_bits)
    retrain_epochs: float = spec(3.0, ge=0)
    retrain_lr: float = spec(1e-3, gt=0)
    prune_steps: int = spec(3, ge=1)
    weight_decay: float = spec(0.0, ge=0)
    finetune_epochs: float = spec(1.0, ge=0)
    centroid_lr: float = spec(1e-4, gt=0)


@dataclass
class OpqSection:
    target_bytes: float = spec(30000.0, gt=0)
    epochs: float = spec(2.0, ge=0)
    lr: float = spec(1e-4, gt=0)


@dataclass
class LcSection:
    parts: Literal["quant+sparse", "lowrank+sparse", "quant+lowrank+sparse"] = "quant+sparse"
    k: int = spec(2, ge=1)
    rank: int = spec(4, ge=1)
    frac: float = spec(0.01, parse=_fraction)
    lc_steps: int = spec(8, ge=1)
    epochs_per_step: float = spec(0.5, gt=0)
    mu0: float = spec(1e-3, gt=0)
    mu_growth: float = spec(1.5, ge=1)
    lr: float = spec(1e-3, gt=0)
    lr_decay: float = spec(0.7, gt=0)
    first_step_factor: float = spec(1.0, gt=0)
    optimizer: Literal["adam", "sgd"] = "adam"
    multipliers: bool = False


@dataclass
class CompressConfig:
    """A whole ``task: compress`` config."""

    method: Literal["deep_compression", "opq", "lc"] = "deep_compression"
    model: str = spec("lenet300", choices=MODELS)
    warm_start: str | None = None
    pretrain_epochs: float = spec(0.0, ge=0)
    pretrain_lr: float = spec(1e-3, gt=0)
    distill: float = spec(0.0, parse=_unit_weight)
    batch_size: int = spec(128, ge=1)
    eval_batch_size: int = spec(1000, ge=1)
    seed: int = spec(0, ge=0)
    threads: int = spec(1, ge=1)
    out_dir: str = "runs/compress"
    progress: bool = False
    data: DataSection = spec(factory=DataSection)
    deep_compression: DeepCompressionSection = spec(factory=DeepCompressionSection)
    opq: OpqSection = spec(factory=OpqSection)
    lc: LcSection = spec(factory=LcSection)


KEYS = known_keys(CompressConfig)


def validate_compress(raw: dict[str, Any]) -> dict[str, Any]:
    """A complete config (defaults filled in); ConfigError names any bad or unknown key."""
    cfg = asdict(from_dict(CompressConfig, {k: v for k, v in raw.items() if k != "task"}))
    if cfg["warm_start"] is None and cfg["pretrain_epochs"] == 0:
        raise ConfigError("warm_start: give a trained float checkpoint, or pretrain_epochs > 0 to train one first")
    return cfg
