"""Configuration of ``make bench-scene`` (``configs/scene_bench.yaml``): scenes, methods and settings.

The grid methods share one scene config (``grid``, e.g. ``scene_default.yaml``: field, steps, EPR
settings); the MLP-EPR baseline uses ``mlp``. ``overrides`` (dotted keys) apply to both, e.g. the
dry run's few steps. Every method trains the same number of steps (warm-up + EPR steps).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nwcodec.errors import ConfigError
from nwcodec.scene.config import ScenePipelineConfig, parse_scene_config
from nwcodec.train.dispatch import apply_overrides

REPO = Path(__file__).resolve().parents[1]


@dataclass
class BenchScene:
    """One scene: a Blender-format directory (``path``) or a procedural one (``generate``)."""

    name: str
    path: str | None = None
    generate: dict | None = None


@dataclass
class BenchConfig:
    grid: dict
    mlp: dict
    scenes: list[BenchScene]
    lams: list[float]
    mlp_lams: list[float]
    post_qualities: list[float]
    jpeg_qualities: list[int]
    test_views: int | None = None
    source: str = ""
    overrides: list[str] = field(default_factory=list)

    def scene_config(self, which: str, scene: BenchScene, lam: float) -> ScenePipelineConfig:
        """The parsed scene config of ``which`` (``grid`` / ``mlp``) for ``scene`` at ``lam``."""
        raw = copy.deepcopy(self.grid if which == "grid" else self.mlp)
        raw.pop("task", None)
        raw["scene"] = {"path": scene.path} if scene.path else {"generate": dict(scene.generate or {})}
        apply_overrides(raw, list(self.overrides))
        raw.setdefault("rate", {})["lam"] = float(lam)
        return parse_scene_config(raw)


def _yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    return data


def load_bench_config(path: str | Path, scene_dir: str | None = None) -> BenchConfig:
    """Read the bench YAML; ``scene_dir`` (``--scene DIR``) replaces the scene list by that directory."""
    path = Path(path)
    d = _yaml(path)
    known = {"grid", "mlp", "scenes", "lams", "mlp_lams", "post_qualities", "jpeg_qualities", "test_views",
             "overrides"}
    for key in d:
        if key not in known:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(sorted(known))})")
    scenes = [BenchScene(**s) for s in d.get("scenes", [])]
    if scene_dir is not None:
        p = Path(scene_dir).expanduser().resolve()
        scenes = [BenchScene(name=p.name, path=str(p))]
    if not scenes:
        raise ConfigError(f"{path}: no scenes")
    over = d.get("overrides") or {}
    return BenchConfig(
        grid=_yaml(path.parent / d["grid"]), mlp=_yaml(path.parent / d["mlp"]), scenes=scenes,
        lams=[float(v) for v in d["lams"]], mlp_lams=[float(v) for v in d.get("mlp_lams", [])],
        post_qualities=[float(v) for v in d.get("post_qualities", [])],
        jpeg_qualities=[int(v) for v in d.get("jpeg_qualities", [])], test_views=d.get("test_views"),
        source=str(path.relative_to(REPO) if path.resolve().is_relative_to(REPO) else path),
        overrides=[f"{k}={yaml.safe_dump(v, default_flow_style=True).strip()}" for k, v in over.items()])
