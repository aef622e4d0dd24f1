"""Render a dataset's views and score them against the ground truth (PSNR, SSIM)."""
from __future__ import annotations

import numpy as np
import torch

from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.metrics import psnr, ssim
from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.render import RenderedViews, render_views


def evaluate_dataset(
    model: SceneModel, dataset: SceneDataset, chunk: int = 8192, device: torch.device | str = "cpu",
) -> tuple[dict, RenderedViews]:
    """Per-view and mean PSNR/SSIM plus rays/second; also returns the renders."""
    out = render_views(model, dataset.poses, dataset.H, dataset.W, dataset.focal, chunk, device)
    views = [
        {"index": k, "psnr": psnr(img, ref), "ssim": ssim(img, ref)}
        for k, (img, ref) in enumerate(zip(out.images, dataset.images))
    ]
    metrics = {
        "views": views,
        "mean_psnr": float(np.mean([v["psnr"] for v in views])),
        "mean_ssim": float(np.mean([v["ssim"] for v in views])),
        "rays_per_second": out.rays_per_second,
        "render_seconds": out.seconds,
    }
    return metrics, out
