"""Options of :func:`nwcodec.reparam.reparameterize`, validated strictly (ConfigError names the key)."""
from __future__ import annotations

from dataclasses import dataclass, fields
from fnmatch import fnmatchcase
from typing import Any

from nwcodec.errors import ConfigError

RULE_DECODERS = ("block_dct", "dct", "dft", "affine", "float")


@dataclass(frozen=True)
class TensorRule:
    """Tensors picked by parameter name: ``match`` is a glob (``fnmatch``, case-sensitive) on the
    dotted parameter name, e.g. ``field.planes.0.weight``; a pattern starting with ``*.`` also matches
    at the top level (``*.planes.*`` matches ``planes.0``). ``decoder`` ``"float"`` keeps the tensor
    out of the latents. ``group`` names the prior: ``"tensor"`` (one per tensor), ``"model"`` or any
    other name (one prior shared by every tensor of that name). ``block`` is the ``block_dct`` block;
    ``per_channel`` gives scale/offset per index of axis 0."""

    match: str
    decoder: str = "block_dct"
    group: str = "tensor"
    block: tuple[int, int] = (8, 8)
    per_channel: bool = True

    def matches(self, name: str) -> bool:
        return fnmatchcase(name, self.match) or (self.match.startswith("*.") and fnmatchcase(name, self.match[2:]))

    @classmethod
    def from_dict(cls, data: Any, where: str) -> "TensorRule":
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a mapping with 'match', got {data!r}")
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(known)})")
        if not isinstance(data.get("match"), str) or not data["match"]:
            raise ConfigError(f"{where}.match: expected a non-empty glob string")
        out = dict(data)
        if out.get("decoder", "block_dct") not in RULE_DECODERS:
            raise ConfigError(f"{where}.decoder: must be one of {RULE_DECODERS}, got {out['decoder']!r}")
        if not isinstance(out.get("group", "tensor"), str) or not out.get("group", "tensor"):
            raise ConfigError(f"{where}.group: expected a non-empty string")
        block = out.get("block", [8, 8])
        if isinstance(block, int) and not isinstance(block, bool):
            block = [block, block]
        if (not isinstance(block, (list, tuple)) or len(block) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) and 1 <= b <= 8 for b in block)):
            raise ConfigError(f"{where}.block: expected [Bh, Bw] with sizes 1..8, got {block!r}")
        out["block"] = (block[0], block[1])
        if not isinstance(out.get("per_channel", True), bool):
            raise ConfigError(f"{where}.per_channel: expected bool, got {out['per_channel']!r}")
        return cls(**out)


DEFAULT_RULES = (TensorRule("*.planes.*"),)


@dataclass(frozen=True)
class ReparamConfig:
    """Which tensors become latents, with which decoder and prior, and how they are warm-started.

    ``init_step`` is the initial quantization step as a fraction of the tensor's (or channel's)
    std; ``prior_groups`` is ``"tensor"`` (one prior per tensor) or ``"model"`` (one shared).
    ``tensors`` are :class:`TensorRule` s that pick tensors by parameter name (first match wins,
    before the module-type rule for Linear/Conv/Embedding weights, which stays as it was); the
    default turns feature planes (``*.planes.*``) into ``block_dct`` latents.
    """

    prior: str = "deep"
    conv_decoder: str = "dct"
    min_numel: int = 64
    per_channel: bool = False
    init_step: float = 0.05
    include_bias: bool = False
    prior_groups: str = "tensor"
    prior_fit_steps: int = 200
    tensors: tuple[TensorRule, ...] = DEFAULT_RULES

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, where: str = "reparam") -> "ReparamConfig":
        """Build from a plain dict; unknown keys or bad values raise ConfigError naming the key."""
        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(known)})")
        if "tensors" in data:
            rules = data["tensors"]
            if not isinstance(rules, (list, tuple)):
                raise ConfigError(f"{where}.tensors: expected a list of rules, got {rules!r}")
            data["tensors"] = tuple(r if isinstance(r, TensorRule) else TensorRule.from_dict(r, f"{where}.tensors[{i}]")
                                    for i, r in enumerate(rules))
        defaults = cls()
        for key, value in data.items():
            if key == "tensors":
                continue
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
        choices = {"prior": ("deep", "logistic", "histogram", "powerlaw"), "conv_decoder": ("dct", "dft", "affine"),
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
