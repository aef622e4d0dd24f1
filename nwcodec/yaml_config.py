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
