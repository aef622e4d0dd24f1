"""One loader for every ``nwcodec train`` config: YAML, ``task`` dispatch, ``--set`` overrides, paths.

A config names its pipeline with ``task`` (see :data:`TASKS`); a config without one is inferred
(``scenes`` -> pack, ``scene`` -> scene, ``method`` -> layered, else classify) with a deprecation note.
Overrides (``a.b=value``, values parsed as YAML) are applied before validation, so they are checked
exactly like the file. Path keys resolve against the config file's directory (then the working
directory, for configs written relative to it); ``${NWCODEC_DATA}`` or ``${VAR:-default}`` in a path
expands an environment variable. Nothing resolves against the location of the installed package.
"""
from __future__ import annotations

import importlib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from nwcodec.config.schema import did_you_mean, unknown_key
from nwcodec.errors import ConfigError


@dataclass(frozen=True)
class Task:
    """One pipeline: its validator, its top-level keys and the keys that hold input paths."""

    validator: str  # "module:function" taking the raw mapping (task removed)
    keys: str  # "module:attribute", a tuple of the known top-level keys
    paths: tuple[str, ...]  # dotted keys holding input paths ("*" = every list item)


TASKS: dict[str, Task] = {
    "classify": Task("nwcodec.train.config:validate_config", "nwcodec.train.config:KEYS", ("data.path", "warm_start")),
    "scene": Task("nwcodec.scene.config:parse_scene_config", "nwcodec.scene.config:SECTIONS", ("scene.path",)),
    "pack": Task("nwcodec.scene.pack_config:parse_pack_config", "nwcodec.scene.pack_config:SECTIONS",
                 ("scenes.*.path", "base")),
    "layered": Task("nwcodec.train.layered_config:validate_layered", "nwcodec.train.layered_config:KEYS",
                    ("data.path", "warm_start")),
    "compress": Task("nwcodec.train.compress_config:validate_compress", "nwcodec.train.compress_config:KEYS",
                     ("data.path", "warm_start")),
}
INFER = (("scenes", "pack"), ("scene", "scene"), ("method", "layered"))
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def _attr(ref: str) -> Any:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


@dataclass
class LoadedConfig:
    """A read, overridden, path-resolved and validated config."""

    task: str
    raw: dict[str, Any]  # the mapping the pipeline receives (``task`` removed, paths absolute)
    validated: Any  # what the task's validator returned
    config_dir: Path | None


def apply_overrides(cfg: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Set dotted keys from ``KEY=VALUE`` strings (values parsed as YAML; list items by index)."""
    import yaml

    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE")
        key, text = (s.strip() for s in item.split("=", 1))
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {key}: value is not valid YAML: {text!r}") from None
        node: Any = cfg
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            where = ".".join(parts[:i + 1])
            if isinstance(node, list):
                node = node[_index(node, part, where)]
                continue
            node = node.setdefault(part, {})
            if node is None:
                node = {}
            if not isinstance(node, (dict, list)):
                raise ConfigError(f"{where}: is not a mapping (--set {key})")
        last = parts[-1]
        if isinstance(node, list):
            node[_index(node, last, key)] = value
        else:
            node[last] = value
    return cfg


def _index(items: list, part: str, where: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(f"{where}: expected a list index below {len(items)}")
    return int(part)


def task_of(cfg: dict[str, Any]) -> str:
    """Which pipeline a config is for (and remove the ``task`` key); infers a missing one with a note."""
    task = cfg.pop("task", None)
    if task is None:
        task = next((t for key, t in INFER if key in cfg), "classify")
        warnings.warn(f"config has no 'task' key; inferred 'task: {task}' (add it: inference is deprecated)",
                      FutureWarning, stacklevel=2)
    if task not in TASKS:
        raise ConfigError(f"task: expected one of {', '.join(TASKS)}, got {task!r}"
                          + (did_you_mean(task, TASKS) if isinstance(task, str) else ""))
    return task


def _check_top_keys(cfg: dict[str, Any], task: str, inferred: bool) -> None:
    """Unknown top-level keys, with a hint; an inferred task also hints at the other tasks' keys."""
    known = tuple(_attr(TASKS[task].keys))
    pool = list(dict.fromkeys([*known, *(k for t in TASKS.values() for k in _attr(t.keys))])) if inferred else known
    for key in cfg:
        if key not in known:
            raise unknown_key("", key, pool)


def expand_vars(text: str, key: str) -> str:
    """``$VAR`` / ``${VAR}`` / ``${VAR:-default}`` from the environment; ConfigError for an unset one."""
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        value = os.environ.get(name)
        if value is None and m.group(2) is None:
            raise ConfigError(f"{key}: environment variable {name} is not set (set it, e.g. "
                              f"{name}=/path/to/data)")
        return value if value is not None else m.group(2)
    return _VAR.sub(sub, text)


def resolve_config_path(value: str, key: str, config_dir: Path | None) -> str:
    """A path from a config, absolute: variables expanded, relative to the config dir (then the cwd)."""
    if not isinstance(value, str):
        return value  # the validator reports the wrong type
    p = Path(expand_vars(value, key)).expanduser()
    if p.is_absolute():
        return str(p)
    candidates = ([config_dir / p] if config_dir is not None else []) + [Path.cwd() / p]
    return str(next((c for c in candidates if c.exists()), candidates[0]).resolve())


def _resolve_paths(node: Any, parts: list[str], where: str, config_dir: Path | None) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(node, list):
        for i, item in enumerate(node):
            _resolve_paths(item, rest, f"{where}[{i}]", config_dir)
    elif isinstance(node, dict) and node.get(head) is not None:
        key = f"{where}.{head}" if where else head
        if rest:
            _resolve_paths(node[head], rest, key, config_dir)
        else:
            node[head] = resolve_config_path(node[head], key, config_dir)


def prepare(cfg: dict[str, Any], config_dir: Path | None, overrides: list[str] | None = None) -> LoadedConfig:
    """Overrides, task, key check, path resolution and validation of an in-memory config."""
    cfg = apply_overrides(dict(cfg), overrides or [])
    inferred = "task" not in cfg
    task = task_of(cfg)
    _check_top_keys(cfg, task, inferred)
    for dotted in TASKS[task].paths:
        _resolve_paths(cfg, dotted.split("."), "", config_dir)
    validate: Callable[[dict], Any] = _attr(TASKS[task].validator)
    import copy

    return LoadedConfig(task, cfg, validate(copy.deepcopy(cfg)), config_dir)


def load_config(path: str | Path, overrides: list[str] | None = None) -> LoadedConfig:
    """Read a YAML config file and :func:`prepare` it (paths relative to the file's directory)."""
    from nwcodec.yaml_config import load_yaml

    path = Path(path)
    return prepare(load_yaml(path), path.resolve().parent, overrides)
