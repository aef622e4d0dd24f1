"""Bounds and tensor shapes of the ``kplanes`` field type (planes + density/colour MLPs)."""
from __future__ import annotations

from nwcodec.nerf.specs.limits import SceneLimits
from nwcodec.nerf.specs.values import bounded_float, bounded_int, int_list, mapping

PLANES_PER_LEVEL = 3


def check_bounds(model: dict, lim: SceneLimits) -> None:
    """Raise MalformedError when a size in ``model`` is beyond ``lim`` (before the strict config parse)."""
    k = mapping(model.get("kplanes", {}), "kplanes")
    if "resolutions" in k:
        int_list(k["resolutions"], "kplanes.resolutions", lim.max_resolutions, 2, lim.max_resolution)
    bounded_int(k.get("channels", 8), "kplanes.channels", 1, lim.max_channels)
    for key in ("hidden", "color_hidden"):
        bounded_int(k.get(key, 64), f"kplanes.{key}", 1, lim.max_hidden)
    bounded_int(k.get("geo_features", 15), "kplanes.geo_features", 1, lim.max_hidden)
    bounded_int(k.get("sh_degree", 2), "kplanes.sh_degree", 0, 3)
    box = model.get("aabb")
    if box is not None:
        if not isinstance(box, list) or len(box) != 6:
            raise_malformed("aabb must be a list of 6 numbers")
        for i, v in enumerate(box):
            bounded_float(v, f"aabb[{i}]", lim.max_abs_coord)


def raise_malformed(msg: str) -> None:
    from nwcodec.errors import MalformedError

    raise MalformedError(f"HEAD: scene.model.{msg}")


def shapes(cfg) -> dict[str, tuple[int, ...]]:
    """State-dict shapes of a :class:`ModelConfig` of type ``kplanes``."""
    k = cfg.kplanes
    out: dict[str, tuple[int, ...]] = {}
    for level, r in enumerate(k.resolutions):
        for p in range(PLANES_PER_LEVEL):
            out[f"field.planes.{PLANES_PER_LEVEL * level + p}.weight"] = (k.channels, r, r)
    feat = k.channels * len(k.resolutions)
    out["field.density_net.0.weight"], out["field.density_net.0.bias"] = (k.hidden, feat), (k.hidden,)
    out["field.density_net.2.weight"] = (1 + k.geo_features, k.hidden)
    out["field.density_net.2.bias"] = (1 + k.geo_features,)
    color_in = k.geo_features + (k.sh_degree + 1) ** 2
    out["field.color_net.0.weight"], out["field.color_net.0.bias"] = (k.color_hidden, color_in), (k.color_hidden,)
    out["field.color_net.2.weight"], out["field.color_net.2.bias"] = (3, k.color_hidden), (3,)
    return out
