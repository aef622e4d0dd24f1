"""Files shipped with nwcodec: the default configs, FORMAT.md and the conformance streams.

They live in ``nwcodec/data/`` (package data of the wheel; in the source tree, links to the top-level
``configs/``, ``bitstreams/FORMAT.md`` and ``bitstreams/conformance/``), so one lookup works both ways.
"""
from __future__ import annotations

from pathlib import Path

from .errors import InputError

ROOT = Path(__file__).resolve().parent / "data"


def configs_dir() -> Path:
    """The directory of the built-in ``*.yaml`` configs."""
    return ROOT / "configs"


def conformance_dir() -> Path:
    """The conformance vectors (``*.nwc`` with their ``*.sha256`` tensor digests)."""
    return ROOT / "conformance"


def format_spec() -> Path:
    """The bitstream specification, FORMAT.md."""
    return ROOT / "FORMAT.md"


def list_configs() -> list[str]:
    """Names (without ``.yaml``) of the built-in configs, sorted."""
    return sorted(p.stem for p in configs_dir().glob("*.yaml"))


def config_path(name: str) -> Path:
    """The built-in config ``name`` (``.yaml`` optional); InputError with a hint for an unknown one."""
    stem = name[:-5] if name.endswith(".yaml") else name
    path = configs_dir() / f"{stem}.yaml"
    if not path.is_file() or "/" in stem:
        from .config.schema import did_you_mean

        raise InputError(f"no built-in config {name!r}{did_you_mean(stem, list_configs())}")
    return path
