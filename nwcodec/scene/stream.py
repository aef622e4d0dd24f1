"""Encode a trained :class:`~nwcodec.nerf.model.SceneModel` as a self-contained bitstream.

The header (kind ``"scene"``) carries, as plain data, everything a receiver needs besides the
weights: the field architecture and render settings (``scene.model``, the dict of
``SceneModel.to_config()``) and the camera conventions (``scene.camera``). A rate-penalized
(reparameterized) model is coded from its integer latents; a float model goes through the
post-training codec.
"""
from __future__ import annotations

from typing import Any

from ..bitstream import DEFAULT_LIMITS, Limits
from ..codec import decode, parse
from ..handoff import encode
from ..errors import InputError, MalformedError

CAMERA_CONVENTION = "opengl-c2w"  # camera looks down -z, +y up; poses are 4x4 camera-to-world


def camera_info(near: float, far: float, camera_angle_x: float | None = None,
                width: int | None = None, height: int | None = None, orbit_radius: float = 4.0) -> dict:
    """The ``scene.camera`` header object."""
    return {"convention": CAMERA_CONVENTION, "near": float(near), "far": float(far),
            "camera_angle_x": camera_angle_x, "width": width, "height": height, "orbit_radius": orbit_radius}


def encode_scene(model: Any, *, camera: dict | None = None, meta: dict | None = None, **codec_options) -> bytes:
    """Bitstream of ``model`` (reparameterized → exact latents; float → post-training codec options)."""
    cfg = model.to_config()
    render = cfg["render"]
    extra = {"scene": {"model": cfg, "camera": camera or camera_info(render["near"], render["far"])}}
    return encode(model, kind="scene", extra=extra, meta=meta, **codec_options)


def scene_header(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict:
    """The validated ``scene`` header object of a scene stream (no weights decoded)."""
    ps = parse(data, limits)
    if ps.header["kind"] != "scene":
        raise InputError(f"not a scene bitstream (kind {ps.header['kind']!r})")
    scene = ps.header.get("scene")
    if not isinstance(scene, dict) or not isinstance(scene.get("model"), dict):
        raise MalformedError("HEAD: scene stream without a scene.model object")
    return scene


def checked_scene_header(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[dict, Any]:
    """The ``scene`` header and its bounded :class:`ModelConfig`, checked against the HEAD tensor
    shapes before any torch module exists (torch-free; every fault a BitstreamError)."""
    from ..nerf.specs import checked_model_config

    scene = scene_header(data, limits)
    return scene, checked_model_config(scene["model"], parse(data, limits).tensors)


def decode_scene(data: bytes, limits: Limits = DEFAULT_LIMITS, workers: int | None = 1):
    """A ready-to-render ``SceneModel`` (eval mode) from a scene bitstream."""
    _, cfg = checked_scene_header(data, limits)
    from ..nerf.model import SceneModel

    model = SceneModel(cfg)
    return load_scene_weights(model, decode(data, limits=limits, workers=workers))


def load_scene_weights(model: Any, arrays: dict) -> Any:
    """Load decoded arrays into ``model`` strictly (a mismatch is a malformed stream); eval mode."""
    import numpy as np
    import torch

    own = model.state_dict()
    if set(own) != set(arrays):
        missing, extra = sorted(set(own) - set(arrays)), sorted(set(arrays) - set(own))
        raise MalformedError(f"scene weights do not match scene.model: missing {missing[:3]}, extra {extra[:3]}")
    for k, v in arrays.items():
        if tuple(own[k].shape) != v.shape:
            raise MalformedError(f"scene weight {k!r} has shape {v.shape}, the field needs {tuple(own[k].shape)}")
    model.load_state_dict({k: torch.from_numpy(np.array(v, order="C")) for k, v in arrays.items()})
    return model.eval()
