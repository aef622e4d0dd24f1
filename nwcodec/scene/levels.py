"""Progressive scenes: a scene stream in levels (format 1.4); level 0 renders a coarse scene, each level sharpens it.

The header (level 0's ``HEAD``, kind ``scene``) carries ``scene.model`` and ``scene.camera`` as in FORMAT.md 6.12;
the field's weights are quantized coarsely in level 0 and refined level by level (``refine`` coding, 6.19).
Works with any field a :class:`~nwcodec.nerf.model.SceneModel` config describes (its float weights).
"""
from __future__ import annotations

from typing import Any

from ..bitstream import DEFAULT_LIMITS, Limits
from ..codec.levels import parse_layered
from ..codec.levels_encode import LevelSpec, encode_layered
from ..errors import ConfigError, MalformedError, WrongKindError
from .stream import camera_info, load_scene_weights


def float_state(model: Any) -> dict:
    """Float weights of a scene model (a reparameterized one synthesizes them first)."""
    import torch

    with torch.no_grad():
        return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
                if ".parametrizations." not in k}


def encode_scene_layered(model: Any, levels: int | list[LevelSpec] = 4, *, quality: float = 16.0,
                         factor: int = 2, camera: dict | None = None, meta: dict | None = None,
                         state: dict | None = None, allocation: str = "tensor") -> bytes:
    """A layered scene stream of ``model`` (or of ``state``, its float weights, with ``model``'s config).
    ``allocation`` defaults to ``"tensor"`` (every tensor at the quality's relative error): on the demo scene the
    size rule gains 0.2–0.3 dB at levels 0–1 but loses 1.5 dB at level 2 (``benchmarks/results/scalable.md``)."""
    cfg = model.to_config()
    render = cfg["render"]
    extra = {"scene": {"model": cfg, "camera": camera or camera_info(render["near"], render["far"])}}
    return encode_layered(state if state is not None else float_state(model), levels, quality=quality,
                          factor=factor, kind="scene", extra=extra, meta=meta, allocation=allocation)


def layered_scene_header(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict:
    """The ``scene`` object of level 0 (available as soon as level 0 has arrived)."""
    ls = parse_layered(data, limits, 0)
    if ls.base.header["kind"] != "scene":
        raise WrongKindError(f"not a scene bitstream (kind {ls.base.header['kind']!r})")
    scene = ls.base.header.get("scene")
    if not isinstance(scene, dict) or not isinstance(scene.get("model"), dict):
        raise MalformedError("HEAD: scene stream without a scene.model object")
    return scene


def decode_scene_level(data: bytes, level: int | None = None, limits: Limits = DEFAULT_LIMITS):
    """A ready-to-render ``SceneModel`` at ``level`` (default: the last complete level of ``data``)."""
    from ..codec.levels import decode_layered
    from ..nerf.model import SceneModel

    scene = layered_scene_header(data, limits)
    if level is None:
        level = len(parse_layered(data, limits).levels) - 1
    try:
        model = SceneModel.from_config(scene["model"])
    except ConfigError as exc:
        raise MalformedError(f"HEAD: invalid scene.model ({exc})") from None
    return load_scene_weights(model, decode_layered(data, level=level, limits=limits))


def complete_levels(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[int]:
    """End offsets of the complete levels in ``data`` (a stream or any prefix); [] before level 0 is whole."""
    from ..errors import IncompleteLevelError, TruncatedError

    try:
        return [lv.end for lv in parse_layered(data, limits).levels]
    except (IncompleteLevelError, TruncatedError):
        return []
