"""Torch-free bounds for untrusted scene headers: each field type's config limits and the tensor
shapes it implies, checked against a stream's HEAD before any torch module is built."""
from nwcodec.nerf.specs.check import SCENE_LIMITS, SceneLimits, checked_model_config, expected_shapes
from nwcodec.nerf.specs.registry import SPECS

__all__ = ["SCENE_LIMITS", "SPECS", "SceneLimits", "checked_model_config", "expected_shapes"]
