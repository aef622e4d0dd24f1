"""Options of :func:`nwcodec.reparam.reparameterize`, validated strictly (ConfigError names the key)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from nwcodec.errors import ConfigError


@dataclass(frozen=True)
class ReparamConfig:
    """Which tensors become latents, with which decoder and prior, and how they are warm-started.

    ``init_step`` is the initial quantization step as a fraction of the tensor's (or channel's)
    std; ``prior_groups`` is ``"tensor"`` (one prior per tensor) or ``"model"`` (one shared).
    """

    prior: str = "deep"
    conv_decoder: str = "dct"
    min_numel: int = 64
    per_channel: bool = False
    init_step: float = 0.05
    include_bias: bool = False
    prior_groups: str = "tensor"
    prior_fit_steps: int = 200

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, where: str = "reparam") -> "ReparamConfig":
        """Build from a plain dict; unknown keys or bad values raise ConfigError naming the key."""
        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(known)})")
        defaults = cls()
        for key, value in data.items():
            want = type(getattr(defaults, key))
            ok = isinstance(value, want) and not (want is not bool and isinstance(value, bool))
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                data[key] = value = float(value)
                ok = True
            if not ok:
                raise ConfigError(f"{where}.{key}: expected {want.__name__}, got {value!r}")
        cfg = cls(**data)
        cfg.check(where)
        return cfg

    def check(self, where: str = "reparam") -> None:
        """Raise ConfigError for values out of range."""
        choices = {"prior": ("deep", "logistic"), "conv_decoder": ("dct", "dft", "affine"),
                   "prior_groups": ("tensor", "model")}
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{where}.{key}: must be one of {allowed}, got {getattr(self, key)!r}")
        if self.min_numel < 1:
            raise ConfigError(f"{where}.min_numel: must be >= 1")
        if not self.init_step > 0:
            raise ConfigError(f"{where}.init_step: must be > 0")
        if self.prior_fit_steps < 0:
            raise ConfigError(f"{where}.prior_fit_steps: must be >= 0")
