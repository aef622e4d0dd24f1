"""Hugging Face model directories: ``model.safetensors``, sharded ``*.safetensors.index.json``, or the torch
``pytorch_model.bin`` (and its index); ``config.json`` is kept as a note."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InputError

SINGLE = ("model.safetensors", "pytorch_model.bin")
INDEX = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
MAX_CONFIG_BYTES = 1 << 20


def find_weights(d: Path) -> Path:
    """The weights file (or shard index) of a model directory."""
    for name in INDEX + SINGLE:
        if (d / name).is_file():
            return d / name
    found = sorted(d.glob("*.safetensors.index.json")) or sorted(d.glob("*.safetensors"))
    if len(found) == 1:
        return found[0]
    raise InputError(f"{d}: no model.safetensors, pytorch_model.bin or shard index found in this directory")


def shard_files(index: Path) -> list[Path]:
    """Shard files named by an index's ``weight_map``, each checked to exist inside the directory."""
    try:
        wm = json.loads(index.read_text())["weight_map"]
        files = sorted(set(wm.values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InputError(f"{index}: not a shard index (needs a 'weight_map' object)") from None
    out = []
    for f in files:
        p = (index.parent / str(f)).resolve()
        if index.parent.resolve() not in p.parents or not p.is_file():
            raise InputError(f"{index}: shard {f!r} is missing (or outside the directory)")
        out.append(p)
    return out


def config_note(d: Path) -> str | None:
    """``config.json`` of a model directory, as one note string (or ``None``)."""
    p = d / "config.json"
    if not p.is_file() or p.stat().st_size > MAX_CONFIG_BYTES:
        return None
    try:
        cfg: Any = json.loads(p.read_text())
    except ValueError:
        return None
    return "config.json: " + json.dumps(cfg, sort_keys=True, separators=(",", ":"))
