"""Camera rays from camera-to-world poses (OpenGL convention: camera looks down -z, y up).

Pixel ``(i, j)`` (column, row) is sampled at its centre ``(i + 0.5, j + 0.5)`` unless an
``offset`` is given; directions are not normalised (their camera-frame z is -1).
"""
from __future__ import annotations

import numpy as np
import torch


def pixel_directions(H: int, W: int, focal: float, offset: tuple[float, float] = (0.5, 0.5)) -> np.ndarray:
    """Camera-frame ray directions ``[H, W, 3]`` (float64) for each pixel."""
    i, j = np.meshgrid(np.arange(W, dtype=np.float64), np.arange(H, dtype=np.float64), indexing="xy")
    x = (i + offset[0] - 0.5 * W) / focal
    y = -(j + offset[1] - 0.5 * H) / focal
    return np.stack([x, y, -np.ones_like(x)], axis=-1)


def rays_from_pose_np(
    pose: np.ndarray, H: int, W: int, focal: float, offset: tuple[float, float] = (0.5, 0.5)
) -> tuple[np.ndarray, np.ndarray]:
    """World-frame ``(origins, directions)``, each ``[H, W, 3]`` float64, for one 4x4 pose."""
    pose = np.asarray(pose, dtype=np.float64)
    dirs = pixel_directions(H, W, focal, offset) @ pose[:3, :3].T
    origins = np.broadcast_to(pose[:3, 3], dirs.shape).copy()
    return origins, dirs


def get_rays(poses: torch.Tensor, H: int, W: int, focal: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched rays: ``poses`` ``[..., 4, 4]`` -> ``(origins, directions)`` each ``[..., H, W, 3]``."""
    cam = torch.as_tensor(pixel_directions(H, W, focal), dtype=poses.dtype, device=poses.device)
    rot = poses[..., None, None, :3, :3]  # [..., 1, 1, 3, 3]
    dirs = (rot @ cam[..., None]).squeeze(-1)
    origins = poses[..., None, None, :3, 3].expand_as(dirs)
    return origins, dirs
