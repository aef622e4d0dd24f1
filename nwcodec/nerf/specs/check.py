"""Check an untrusted ``scene.model`` header against bounds and the stream's tensor list (torch-free)."""
from __future__ import annotations

import math
from typing import Any, Iterable

from nwcodec.errors import ConfigError, LimitExceededError, MalformedError
from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.specs.limits import SCENE_LIMITS, SceneLimits
from nwcodec.nerf.specs.registry import SPECS
from nwcodec.nerf.specs.values import bounded_float, bounded_int, mapping


def _render_bounds(model: dict, lim: SceneLimits) -> None:
    r = mapping(model.get("render", {}), "render")
    for key in ("near", "far"):
        if key in r:
            bounded_float(r[key], f"render.{key}", lim.max_abs_coord)
    for key in ("n_coarse", "n_fine"):
        if key in r:
            bounded_int(r[key], f"render.{key}", 0, lim.max_samples)
    for i, c in enumerate(r.get("background", []) if isinstance(r.get("background"), list) else []):
        bounded_float(c, f"render.background[{i}]", 1.0)


def expected_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The state-dict tensor shapes a field config implies (computed without torch)."""
    return SPECS[cfg.type].shapes(cfg)


def checked_model_config(model: Any, tensors: Iterable[dict] | None = None,
                         limits: SceneLimits = SCENE_LIMITS) -> ModelConfig:
    """Parse ``scene.model`` strictly within ``limits``; with ``tensors`` (HEAD entries with ``name``
    and ``shape``) also require exactly the implied tensors. Every fault is a BitstreamError."""
    model = mapping(model, "")
    kind = model.get("type", "mlp")
    if not isinstance(kind, str) or kind not in SPECS:
        raise MalformedError(f"HEAD: scene.model.type {kind!r} is not a known field type ({', '.join(SPECS)})")
    SPECS[kind].check_bounds(model, limits)
    _render_bounds(model, limits)
    try:
        cfg = ModelConfig.from_dict(model, "model")
    except ConfigError as exc:
        raise MalformedError(f"HEAD: invalid scene.model ({exc})") from None
    want = expected_shapes(cfg)
    if sum(math.prod(s) for s in want.values()) > limits.max_params:
        raise LimitExceededError(f"HEAD: scene.model needs more than {limits.max_params:,} parameters")
    if tensors is not None:
        have = {t["name"]: tuple(t["shape"]) for t in tensors}
        if set(have) != set(want):
            missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
            raise MalformedError(f"HEAD: tensors do not match scene.model: missing {missing[:3]}, extra {extra[:3]}")
        for name, shape in want.items():
            if have[name] != shape:
                raise MalformedError(f"HEAD: tensor {name!r} has shape {list(have[name])}, "
                                     f"scene.model needs {list(shape)}")
    return cfg
