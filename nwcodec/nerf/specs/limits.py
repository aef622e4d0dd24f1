"""Upper bounds on a scene header's field config (generous for real scenes, small enough that a
hostile header cannot make the receiver allocate or compute much)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SceneLimits:
    """Bounds checked before a scene field is built."""

    max_depth: int = 16
    max_width: int = 1024
    max_freqs: int = 16
    max_resolutions: int = 4
    max_resolution: int = 1024
    max_channels: int = 64
    max_hidden: int = 512
    max_samples: int = 1024
    max_params: int = 64_000_000
    max_abs_coord: float = 1e4


SCENE_LIMITS = SceneLimits()
