"""Reading YAML config files with typed errors (shared by every training pipeline)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def load_yaml(path: str | Path) -> dict[str, Any]:
    """A YAML mapping from ``path`` (ConfigError for a missing file, bad YAML or a non-mapping)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"bad YAML in {p}: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: top level must be a mapping")
    return data


def check_sections(cfg: Any, known: tuple[str, ...] | list[str]) -> None:
    """A config must be a mapping of known top-level sections (``task`` is removed before)."""
    if not isinstance(cfg, dict):
        raise ConfigError(f"config: expected a mapping, got {type(cfg).__name__}")
    from .config.schema import unknown_key

    for key in cfg:
        if key not in known:
            raise unknown_key("", key, known)
