"""``nwcodec train CONFIG.yaml``: read a YAML config and run the matching training pipeline.

A config names its task with a top-level ``task`` key (``classify``, ``scene`` or ``pack``);
without it, ``scenes`` means a pack, a ``scene`` source means one scene, otherwise a classifier.
``--set a.b=value`` overrides a (dotted) key; the value is parsed as YAML.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..yaml_config import load_yaml

TASKS = ("classify", "scene", "pack", "layered")


def apply_overrides(cfg: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set dotted keys from ``KEY=VALUE`` strings (values parsed as YAML)."""
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, raw = item.split("=", 1)
        node = cfg
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{key}: {part} is not a mapping")
        node[parts[-1]] = yaml.safe_load(raw)
    return cfg


def task_of(cfg: dict[str, Any]) -> str:
    """Which pipeline a config is for (and remove the ``task`` key)."""
    task = cfg.pop("task", None)
    if task is None:
        task = "pack" if "scenes" in cfg else "scene" if "scene" in cfg else "classify"
    if task not in TASKS:
        raise ConfigError(f"task: must be one of {', '.join(TASKS)}, got {task!r}")
    return task


def run_config(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Run the training pipeline a config describes; returns its summary."""
    cfg = apply_overrides(load_yaml(path), overrides or [])
    task = task_of(cfg)
    if task == "classify":
        from .classify import train_classifier

        return train_classifier(cfg)
    if task == "scene":
        from ..scene.pipeline import run_scene

        return run_scene(cfg, config_dir=Path(path).parent)
    if task == "layered":
        from .layered import run_layered

        return run_layered(cfg, config_dir=Path(path).parent)
    from ..scene.pack_pipeline import run_pack

    return run_pack(cfg, config_dir=Path(path).parent)
