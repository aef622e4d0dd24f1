"""Server-side rendering of one orbit view of a scene model to PNG bytes (deterministic on one machine)."""
from __future__ import annotations

import io
import math
import threading

import numpy as np

DEFAULT_ANGLE_X = 0.6911112070083618
_LOCK = threading.Lock()   # one render at a time: bounded CPU use, same results for every request


def view_pixels(model, camera: dict, azimuth_deg: float, elevation_deg: float, distance: float,
                size: int) -> np.ndarray:
    """``[size, size, 3]`` uint8 render from the orbit camera (z up, looking at the origin)."""
    import torch

    from ..nerf.render import render_views
    from ..nerf.video import sphere_pose

    angle = camera.get("camera_angle_x") or DEFAULT_ANGLE_X
    focal = 0.5 * size / math.tan(0.5 * angle)
    pose = sphere_pose(distance, math.radians(azimuth_deg), math.radians(elevation_deg))[None]
    with _LOCK:
        torch.set_num_threads(1)
        img = render_views(model, pose, size, size, focal).images[0]
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def png_bytes(pixels: np.ndarray) -> bytes:
    import imageio.v3 as iio

    buf = io.BytesIO()
    iio.imwrite(buf, pixels, extension=".png")
    return buf.getvalue()
