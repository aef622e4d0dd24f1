"""Render full images from a :class:`SceneModel` in bounded-memory chunks of rays."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.rays import get_rays


@dataclass
class RenderedViews:
    """Rendered views: ``images`` ``[N,H,W,3]``, ``depths``/``accs`` ``[N,H,W]`` (float32), timing."""

    images: np.ndarray
    depths: np.ndarray
    accs: np.ndarray
    seconds: float
    rays_per_second: float


@torch.no_grad()
def render_rays(model: SceneModel, origins: torch.Tensor, dirs: torch.Tensor, chunk: int = 8192) -> dict[str, torch.Tensor]:
    """Render ``[R, 3]`` rays ``chunk`` at a time (no gradients); returns ``rgb``, ``depth``, ``acc``."""
    parts: dict[str, list[torch.Tensor]] = {"rgb": [], "depth": [], "acc": []}
    for start in range(0, origins.shape[0], chunk):
        out = model(origins[start : start + chunk], dirs[start : start + chunk])
        for key in parts:
            parts[key].append(out[key])
    return {key: torch.cat(vals) for key, vals in parts.items()}


def render_views(
    model: SceneModel, poses: np.ndarray | torch.Tensor, H: int, W: int, focal: float,
    chunk: int = 8192, device: torch.device | str = "cpu",
) -> RenderedViews:
    """Render every camera-to-world pose in ``poses`` ``[N,4,4]`` (model switched to eval, then restored)."""
    was_training = model.training
    model.eval()
    poses_t = torch.as_tensor(np.asarray(poses, dtype=np.float32)).to(device)
    images, depths, accs = [], [], []
    start = time.perf_counter()
    try:
        for pose in poses_t:
            origins, dirs = get_rays(pose, H, W, focal)
            out = render_rays(model, origins.reshape(-1, 3), dirs.reshape(-1, 3), chunk)
            images.append(out["rgb"].reshape(H, W, 3).clamp(0, 1).cpu().numpy())
            depths.append(out["depth"].reshape(H, W).cpu().numpy())
            accs.append(out["acc"].reshape(H, W).cpu().numpy())
    finally:
        model.train(was_training)
    seconds = time.perf_counter() - start
    n = len(images)
    empty = np.zeros((0, H, W), np.float32)
    return RenderedViews(
        images=np.stack(images) if n else np.zeros((0, H, W, 3), np.float32),
        depths=np.stack(depths) if n else empty,
        accs=np.stack(accs) if n else empty,
        seconds=seconds,
        rays_per_second=n * H * W / seconds if seconds > 0 else 0.0,
    )
