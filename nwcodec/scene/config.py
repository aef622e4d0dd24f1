"""Strict configuration of one scene-codec run (``task: scene``): source, field, training, rate, output.

The ``data``, ``model`` and ``train`` sections are the NeRF dataclasses of
:mod:`nwcodec.nerf.config`; ``rate.reparam`` is a :class:`~nwcodec.reparam.config.ReparamConfig`.
Every fault raises :class:`ConfigError` naming the dotted key (e.g. ``rate.lam[1]``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nwcodec.config.load import resolve_config_path
from nwcodec.config.schema import unknown_key
from nwcodec.errors import ConfigError
from nwcodec.nerf.config import DataConfig, ModelConfig, TrainConfig, _check, _DictMixin
from nwcodec.reparam.config import ReparamConfig
from nwcodec.yaml_config import check_sections

SECTIONS = ("scene", "data", "model", "train", "rate", "output")


@dataclass
class GenerateConfig(_DictMixin):
    """A procedural scene (:func:`nwcodec.nerf.procedural.generate_scene`) written into the output dir."""

    seed: int = 0
    resolution: int = 64
    n_train: int = 40
    n_val: int = 5
    n_test: int = 10

    def validate(self, where: str) -> None:
        _check(self.resolution >= 8, f"{where}.resolution", "must be >= 8")
        for key in ("n_train", "n_val", "n_test"):
            _check(getattr(self, key) >= 1, f"{where}.{key}", "must be >= 1")


@dataclass
class SourceConfig(_DictMixin):
    """Exactly one of ``path`` (a NeRF-Synthetic directory) or ``generate`` (a procedural scene)."""

    path: str | None = None
    generate: GenerateConfig | None = None

    def validate(self, where: str) -> None:
        _check((self.path is None) != (self.generate is None), where, "give exactly one of 'path' or 'generate'")

    def resolve(self, config_dir: Path | None) -> Path | None:
        """``path`` as an absolute directory: ``${VAR}`` expanded, relative to ``config_dir`` (then the cwd)."""
        if self.path is None:
            return None
        return Path(resolve_config_path(self.path, "scene.path", None if config_dir is None else Path(config_dir)))


@dataclass
class LrScales(_DictMixin):
    """Multipliers of the scheduled lr per EPR parameter group (latents are in quantization steps);
    the remaining float parameters (e.g. biases) use the scheduled lr itself."""

    latent: float = 100.0
    decoder: float = 1.0
    prior: float = 10.0

    def validate(self, where: str) -> None:
        for key in ("latent", "decoder", "prior"):
            _check(getattr(self, key) > 0, f"{where}.{key}", "must be > 0")


@dataclass
class RateConfig:
    """Rate penalty: ``lam`` (a list means a sweep; 0 = float training + post-training codec)."""

    lam: tuple[float, ...] = (0.0,)
    pretrain_iters: int = 0
    reparam: ReparamConfig = field(default_factory=ReparamConfig)
    lr_scales: LrScales = field(default_factory=LrScales)
    quality: float = 60.0  # post-training codec quality for lam = 0

    @classmethod
    def from_dict(cls, data: Any, where: str = "rate") -> "RateConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        known = ("lam", "pretrain_iters", "reparam", "lr_scales", "quality")
        for key in data:
            if key not in known:
                raise unknown_key(where, key, known)
        cfg = cls()
        if "lam" in data:
            cfg.lam = _lams(data["lam"], f"{where}.lam")
        if "pretrain_iters" in data:
            value = data["pretrain_iters"]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}.pretrain_iters: expected an integer >= 0, got {value!r}")
            cfg.pretrain_iters = value
        if "reparam" in data:
            cfg.reparam = ReparamConfig.from_dict(data["reparam"], f"{where}.reparam")
        if "lr_scales" in data:
            cfg.lr_scales = LrScales.from_dict(data["lr_scales"], f"{where}.lr_scales")
        if "quality" in data:
            cfg.quality = _number(data["quality"], f"{where}.quality")
            _check(cfg.quality > 0, f"{where}.quality", "must be > 0")
        return cfg


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    return float(value)


def _lams(value: Any, key: str) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        raise ConfigError(f"{key}: the list of lam values is empty")
    lams = tuple(_number(v, f"{key}[{i}]" if isinstance(value, list) else key) for i, v in enumerate(values))
    for i, lam in enumerate(lams):
        _check(lam >= 0, f"{key}[{i}]" if isinstance(value, list) else key, "must be >= 0")
    return lams


@dataclass
class OutputConfig(_DictMixin):
    """Where results go (relative to the working directory) and how much is rendered."""

    dir: str = "runs/scene"
    orbit_frames: int = 24
    render_size: int | None = None

    def validate(self, where: str) -> None:
        _check(self.orbit_frames >= 0, f"{where}.orbit_frames", "must be >= 0")
        _check(self.render_size is None or self.render_size >= 8, f"{where}.render_size", "must be >= 8")


@dataclass
class ScenePipelineConfig:
    """A whole ``task: scene`` config."""

    scene: SourceConfig
    data: DataConfig
    model: ModelConfig
    train: TrainConfig
    rate: RateConfig
    output: OutputConfig


def parse_scene_config(cfg: dict[str, Any]) -> ScenePipelineConfig:
    """Validate a scene config mapping (``task`` already removed); ConfigError names the bad key."""
    check_sections(cfg, SECTIONS)
    if cfg.get("scene") is None:
        raise ConfigError("scene: missing (give scene.path or scene.generate)")
    return ScenePipelineConfig(
        scene=SourceConfig.from_dict(cfg["scene"], "scene"),
        data=DataConfig.from_dict(cfg.get("data", {}), "data"),
        model=ModelConfig.from_dict(cfg.get("model", {}), "model"),
        train=TrainConfig.from_dict(cfg.get("train", {}), "train"),
        rate=RateConfig.from_dict(cfg.get("rate", {}), "rate"),
        output=OutputConfig.from_dict(cfg.get("output", {}), "output"),
    )
