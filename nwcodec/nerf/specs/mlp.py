"""Bounds and tensor shapes of the ``mlp`` field type (coarse + optional fine NeRF MLPs)."""
from __future__ import annotations

from nwcodec.nerf.specs.limits import SceneLimits
from nwcodec.nerf.specs.values import bounded_int, int_list, mapping


def _field_bounds(cfg: dict, key: str, lim: SceneLimits) -> None:
    mapping(cfg, key)
    bounded_int(cfg.get("depth", 8), f"{key}.depth", 1, lim.max_depth)
    bounded_int(cfg.get("width", 256), f"{key}.width", 2, lim.max_width)
    bounded_int(cfg.get("pos_freqs", 10), f"{key}.pos_freqs", 0, lim.max_freqs)
    bounded_int(cfg.get("dir_freqs", 4), f"{key}.dir_freqs", 0, lim.max_freqs)
    skips = cfg.get("skips", [4])
    if skips != []:
        int_list(skips, f"{key}.skips", lim.max_depth, 0, lim.max_depth)


def check_bounds(model: dict, lim: SceneLimits) -> None:
    """Raise MalformedError when a size in ``model`` is beyond ``lim`` (before the strict config parse)."""
    _field_bounds(model.get("coarse", {}), "coarse", lim)
    if model.get("fine", {}) is not None:
        _field_bounds(model.get("fine", {}), "fine", lim)


def _field_shapes(prefix: str, f) -> dict[str, tuple[int, ...]]:
    in_dim = 3 + 3 * 2 * f.pos_freqs
    w = f.width
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(f.depth):
        d = in_dim if i == 0 else w + (in_dim if i in f.skips else 0)
        shapes[f"{prefix}.trunk.{i}.weight"], shapes[f"{prefix}.trunk.{i}.bias"] = (w, d), (w,)
    shapes[f"{prefix}.density_head.weight"], shapes[f"{prefix}.density_head.bias"] = (1, w), (1,)
    if f.view_dependent:
        dir_dim = 3 + 3 * 2 * f.dir_freqs
        shapes[f"{prefix}.feature.weight"], shapes[f"{prefix}.feature.bias"] = (w, w), (w,)
        shapes[f"{prefix}.view_layer.weight"], shapes[f"{prefix}.view_layer.bias"] = (w // 2, w + dir_dim), (w // 2,)
        shapes[f"{prefix}.rgb_head.weight"], shapes[f"{prefix}.rgb_head.bias"] = (3, w // 2), (3,)
    else:
        shapes[f"{prefix}.rgb_head.weight"], shapes[f"{prefix}.rgb_head.bias"] = (3, w), (3,)
    return shapes


def shapes(cfg) -> dict[str, tuple[int, ...]]:
    """State-dict shapes of a :class:`ModelConfig` of type ``mlp``."""
    out = _field_shapes("coarse", cfg.coarse)
    if cfg.fine is not None:
        out.update(_field_shapes("fine", cfg.fine))
    return out
