"""Strict configuration of a scene-pack run (``task: pack``); ConfigError names the bad key.

``scenes`` is a list of sources (each ``path:`` or ``generate:``, as in a scene config); ``base``
(optional) names an existing base stream: the listed scenes are then fitted against it, frozen.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nwcodec.errors import ConfigError
from nwcodec.nerf.config import DataConfig, ModelConfig, TrainConfig, _check, _DictMixin
from nwcodec.scene.config import LrScales, SourceConfig
from nwcodec.yaml_config import check_sections

SECTIONS = ("scenes", "base", "data", "model", "train", "pack", "output")


@dataclass
class PackRateConfig(_DictMixin):
    """Rate penalty and the shared/residual latent setup."""

    lam: float = 1.0
    init_step: float = 0.05
    min_numel: int = 64
    per_channel: bool = False
    prior: str = "deep"
    prior_fit_steps: int = 200
    lr_scales: LrScales = field(default_factory=LrScales)

    def validate(self, where: str) -> None:
        _check(self.lam >= 0, f"{where}.lam", "must be >= 0")
        _check(self.init_step > 0, f"{where}.init_step", "must be > 0")
        _check(self.min_numel >= 1, f"{where}.min_numel", "must be >= 1")
        _check(self.prior in ("deep", "logistic"), f"{where}.prior", "must be 'deep' or 'logistic'")
        _check(self.prior_fit_steps >= 0, f"{where}.prior_fit_steps", "must be >= 0")


@dataclass
class PackOutputConfig(_DictMixin):
    dir: str = "runs/pack"


@dataclass
class PackConfig:
    scenes: list[SourceConfig]
    base: str | None
    data: DataConfig
    model: ModelConfig | None  # None: the default field, or the base stream's when ``base`` is set
    train: TrainConfig
    pack: PackRateConfig
    output: PackOutputConfig


def parse_pack_config(cfg: dict[str, Any]) -> PackConfig:
    """Validate a pack config mapping (``task`` already removed)."""
    check_sections(cfg, SECTIONS)
    scenes = cfg.get("scenes")
    if not isinstance(scenes, list) or not scenes:
        raise ConfigError("scenes: expected a non-empty list of scene sources")
    base = cfg.get("base")
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"base: expected a path to a base stream, got {base!r}")
    return PackConfig(
        scenes=[SourceConfig.from_dict(s, f"scenes[{i}]") for i, s in enumerate(scenes)],
        base=base,
        data=DataConfig.from_dict(cfg.get("data", {}), "data"),
        model=ModelConfig.from_dict(cfg["model"], "model") if "model" in cfg else None,
        train=TrainConfig.from_dict(cfg.get("train", {}), "train"),
        pack=PackRateConfig.from_dict(cfg.get("pack", {}), "pack"),
        output=PackOutputConfig.from_dict(cfg.get("output", {}), "output"),
    )
