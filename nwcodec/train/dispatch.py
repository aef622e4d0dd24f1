"""``nwcodec train CONFIG.yaml``: load a config (:mod:`nwcodec.config`) and run its task's pipeline.

A config names its task with a top-level ``task`` key (``classify``, ``scene``, ``pack``,
``layered`` or ``compress``); ``--set a.b=value`` overrides a (dotted) key and is validated like the file.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from ..config.load import TASKS, apply_overrides, load_config, task_of
from ..yaml_config import load_yaml

__all__ = ["RUNNERS", "TASKS", "apply_overrides", "load_yaml", "run_config", "task_of"]

RUNNERS: dict[str, tuple[str, bool]] = {  # task -> ("module:function", takes config_dir)
    "classify": ("nwcodec.train.classify:train_classifier", False),
    "scene": ("nwcodec.scene.pipeline:run_scene", True),
    "pack": ("nwcodec.scene.pack_pipeline:run_pack", True),
    "layered": ("nwcodec.train.layered:run_layered", True),
    "compress": ("nwcodec.train.compress:run_compress", True),
}


def run_config(path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    """Run the training pipeline a config describes; returns its summary."""
    loaded = load_config(path, overrides)
    ref, takes_dir = RUNNERS[loaded.task]
    module, name = ref.split(":")
    run = getattr(importlib.import_module(module), name)
    return run(loaded.raw, config_dir=loaded.config_dir) if takes_dir else run(loaded.raw)
