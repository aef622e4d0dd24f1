"""Scene configuration: JSON/YAML-able dataclasses and a strict loader.

Every dataclass here round-trips through ``to_dict()`` / ``from_dict()``; unknown keys and
wrongly typed values raise :class:`ConfigError` naming the dotted key (e.g. ``train.lr``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar


from nwcodec.config.schema import from_dict, parse_value, unknown_key
from nwcodec.errors import ConfigError
from nwcodec.yaml_config import load_yaml

T = TypeVar("T")


_parse = parse_value  # the generic schema of nwcodec.config (dotted paths, did-you-mean hints)
_from_dict = from_dict


def _to_dict(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _nested(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple):
        return [_to_dict(v) for v in obj]
    return obj


def _nested(value: Any) -> Any:
    """A field's value as plain data, through its own ``to_dict`` when it has one."""
    if dataclasses.is_dataclass(value) and hasattr(value, "to_dict"):
        return value.to_dict()
    return _to_dict(value)


class _DictMixin:
    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists)."""
        return _to_dict(self)

    @classmethod
    def from_dict(cls: type[T], data: Any, prefix: str = "") -> T:
        """Strict inverse of :meth:`to_dict`; raises :class:`ConfigError` naming the bad key."""
        return _from_dict(cls, data, prefix)


def _check(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


@dataclass
class FieldConfig(_DictMixin):
    """NeRF MLP shape: ``depth`` layers of ``width``, input re-injected after layers in ``skips``."""

    depth: int = 8
    width: int = 256
    skips: tuple[int, ...] = (4,)
    pos_freqs: int = 10
    dir_freqs: int = 4
    view_dependent: bool = True

    def validate(self, where: str) -> None:
        _check(self.depth >= 1, f"{where}.depth", "must be >= 1")
        _check(self.width >= 2, f"{where}.width", "must be >= 2")
        _check(all(0 < s < self.depth for s in self.skips), f"{where}.skips", "each must be in [1, depth)")
        _check(0 <= self.pos_freqs <= 16, f"{where}.pos_freqs", "must be in [0, 16]")
        _check(0 <= self.dir_freqs <= 16, f"{where}.dir_freqs", "must be in [0, 16]")


@dataclass
class RenderConfig(_DictMixin):
    """How rays are sampled and composited: bounds, samples per ray, background colour."""

    near: float = 2.0
    far: float = 6.0
    n_coarse: int = 64
    n_fine: int = 64
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def validate(self, where: str) -> None:
        _check(0.0 <= self.near < self.far, f"{where}.near", "need 0 <= near < far")
        _check(self.n_coarse >= 2, f"{where}.n_coarse", "must be >= 2")
        _check(self.n_fine >= 0, f"{where}.n_fine", "must be >= 0")
        _check(all(0.0 <= c <= 1.0 for c in self.background), f"{where}.background", "values must be in [0, 1]")


@dataclass
class KPlanesConfig(_DictMixin):
    """K-Planes-style field: 3 planes (xy, xz, yz) of ``channels`` per resolution, Hadamard product
    across planes, concatenated across resolutions, then a density MLP and a view-dependent colour
    MLP on spherical harmonics of degree ``sh_degree`` of the direction."""

    resolutions: tuple[int, ...] = (64, 128)
    channels: int = 8
    hidden: int = 64
    geo_features: int = 15
    color_hidden: int = 64
    sh_degree: int = 2

    def validate(self, where: str) -> None:
        _check(len(self.resolutions) >= 1, f"{where}.resolutions", "need at least one resolution")
        _check(all(r >= 2 for r in self.resolutions), f"{where}.resolutions", "each must be >= 2")
        _check(self.channels >= 1, f"{where}.channels", "must be >= 1")
        _check(self.hidden >= 1 and self.color_hidden >= 1, f"{where}.hidden", "must be >= 1")
        _check(self.geo_features >= 1, f"{where}.geo_features", "must be >= 1")
        _check(0 <= self.sh_degree <= 3, f"{where}.sh_degree", "must be in [0, 3]")


@dataclass
class ModelConfig(_DictMixin):
    """A :class:`~nwcodec.nerf.model.SceneModel`: ``type`` names its field (``mlp``: coarse + optional
    fine MLP; ``kplanes``: one grid field inside ``aabb``), plus render settings.

    ``to_dict`` writes only the keys of its type; an ``mlp`` dict is exactly the pre-registry one,
    so streams without a ``type`` are ``mlp``.
    """

    type: str = "mlp"
    coarse: FieldConfig = field(default_factory=FieldConfig)
    fine: FieldConfig | None = field(default_factory=FieldConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    kplanes: KPlanesConfig = field(default_factory=KPlanesConfig)
    aabb: tuple[float, float, float, float, float, float] | None = None

    def validate(self, where: str) -> None:
        _check(self.type in MODEL_KEYS, f"{where}.type", f"unknown field type (known: {', '.join(MODEL_KEYS)})")
        _check(
            (self.fine is None) == (self.render.n_fine == 0),
            f"{where}.fine",
            "a fine field needs render.n_fine > 0 and n_fine > 0 needs a fine field",
        )
        if self.aabb is not None:
            _check(all(self.aabb[i] < self.aabb[i + 3] for i in range(3)), f"{where}.aabb",
                   "need [xmin, ymin, zmin, xmax, ymax, zmax] with min < max")

    def to_dict(self) -> dict:
        """The keys of this type only (``mlp``: ``coarse``, ``fine``, ``render``, no ``type``)."""
        full = _to_dict(self)
        return {k: full[k] for k in MODEL_KEYS[self.type]}

    @classmethod
    def from_dict(cls, data: Any, prefix: str = "") -> "ModelConfig":
        """Strict: the keys a type does not use are unknown keys; ``kplanes`` has no fine field."""
        where = prefix or "config"
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
        kind = data.get("type", "mlp")
        if not isinstance(kind, str) or kind not in MODEL_KEYS:
            raise ConfigError(f"{prefix + '.' if prefix else ''}type: unknown field type {kind!r} "
                              f"(known: {', '.join(MODEL_KEYS)})")
        for key in data:
            if key != "type" and key not in MODEL_KEYS[kind]:
                raise unknown_key(prefix, key, MODEL_KEYS[kind])
        if kind != "mlp" and "fine" not in data:
            data = {**data, "fine": None}
        return _from_dict(cls, data, prefix)


MODEL_KEYS: dict[str, tuple[str, ...]] = {  # field type -> the ModelConfig keys it uses (in to_dict order)
    "mlp": ("coarse", "fine", "render"),
    "kplanes": ("type", "kplanes", "render", "aabb"),
}


@dataclass
class DataConfig(_DictMixin):
    """Which views to read and how: background name, integer downscale, view limits."""

    background: str = "white"
    downscale: int = 1
    max_train_views: int | None = None
    max_val_views: int | None = None

    def validate(self, where: str) -> None:
        _check(self.background in ("white", "black"), f"{where}.background", "must be 'white' or 'black'")
        _check(self.downscale >= 1, f"{where}.downscale", "must be >= 1")


@dataclass
class TrainConfig(_DictMixin):
    """Optimisation: Adam with exponential learning-rate decay over random ray batches."""

    iters: int = 2000
    batch_rays: int = 1024
    lr: float = 5e-4
    lr_final: float = 5e-5
    val_every: int = 500
    val_views: int = 2
    ckpt_every: int = 500
    chunk: int = 8192
    seed: int = 0
    precrop_iters: int = 0
    precrop_frac: float = 0.5
    device: str = "cpu"
    random_background: bool = False  # composite each training ray on a random colour (needs the views' alpha)

    def validate(self, where: str) -> None:
        _check(self.device == "cpu" or self.device.startswith("cuda"), f"{where}.device", "must be 'cpu' or 'cuda[:N]'")
        _check(self.iters >= 0, f"{where}.iters", "must be >= 0")
        _check(self.batch_rays >= 1, f"{where}.batch_rays", "must be >= 1")
        _check(self.lr > 0 and self.lr_final > 0, f"{where}.lr", "learning rates must be > 0")
        _check(self.val_every >= 0, f"{where}.val_every", "must be >= 0 (0 = off)")
        _check(self.val_views >= 0, f"{where}.val_views", "must be >= 0")
        _check(self.ckpt_every >= 0, f"{where}.ckpt_every", "must be >= 0 (0 = only at the end)")
        _check(self.chunk >= 1, f"{where}.chunk", "must be >= 1")
        _check(0.0 < self.precrop_frac <= 1.0, f"{where}.precrop_frac", "must be in (0, 1]")


@dataclass
class SceneConfig(_DictMixin):
    """Top level of ``configs/scene_*.yaml``."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


PIPELINE_SECTIONS = ("task", "scene", "rate", "output")  # read by nwcodec.scene.config, not here


def load_scene_config(path: str | Path) -> SceneConfig:
    """Read the field/training sections of a scene YAML strictly (ConfigError names the bad key).

    The pipeline sections of a ``nwcodec train`` scene config (source, rate, output) are left to
    :mod:`nwcodec.scene.config`.
    """
    data = load_yaml(path)
    return SceneConfig.from_dict({k: v for k, v in data.items() if k not in PIPELINE_SECTIONS})
