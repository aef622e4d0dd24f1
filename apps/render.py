"""Render a trained neural scene to a directory: scored test views, orbit video, contact sheet.

Called by the CLI; importable without side effects.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch

from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.evaluate import evaluate_dataset
from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.render import render_views
from nwcodec.nerf.video import contact_sheet, orbit_poses, to_uint8, write_video

DEFAULT_CAMERA_ANGLE_X = 0.6911112070083618  # the NeRF-Synthetic field of view


def render_to_dir(
    scene_model: SceneModel, out_dir: str | Path, dataset: SceneDataset | None = None,
    orbit_frames: int = 24, size: int | None = None, chunk: int = 8192, device: torch.device | str = "cpu",
    fps: int = 12, radius: float = 4.0, elevation_deg: float = 30.0, verbose: bool = True,
) -> dict:
    """Write renders and ``metrics.json`` under ``out_dir``; return the metrics dict.

    With ``dataset``: every view is rendered to ``views/r_{i}.png`` and scored (PSNR, SSIM, means),
    and ``contact_sheet.png`` shows ground truth (top rows) above renders. Always: an orbit of
    ``orbit_frames`` frames at ``size`` px (default: the dataset's width, else 100) as mp4 (GIF
    without ffmpeg). ``rays_per_second`` is measured on the orbit render.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scene_model = scene_model.to(device)
    metrics: dict = {"files": {}}
    if dataset is not None:
        scores, rendered = evaluate_dataset(scene_model, dataset, chunk, device)
        metrics.update(scores)
        (out / "views").mkdir(exist_ok=True)
        for k, img in enumerate(rendered.images):
            iio.imwrite(out / "views" / f"r_{k}.png", to_uint8(img))
        cols = min(len(dataset), 5)
        rows = math.ceil(len(dataset) / cols)
        pad = rows * cols - len(dataset)
        blank = np.ones((pad, dataset.H, dataset.W, 3), np.float32)
        grid = np.concatenate([dataset.images, blank, rendered.images, blank])
        metrics["files"]["views"] = "views"
        metrics["files"]["contact_sheet"] = contact_sheet(grid, out / "contact_sheet.png", columns=cols).name
    if orbit_frames > 0:
        side = size or (dataset.W if dataset is not None else 100)
        focal = 0.5 * side / math.tan(0.5 * DEFAULT_CAMERA_ANGLE_X)
        orbit = render_views(scene_model, orbit_poses(orbit_frames, radius, elevation_deg), side, side, focal, chunk, device)
        metrics["files"]["orbit"] = write_video(orbit.images, out / "orbit", fps).name
        if dataset is None:
            metrics["files"]["contact_sheet"] = contact_sheet(orbit.images, out / "contact_sheet.png", columns=6).name
        metrics["rays_per_second"] = orbit.rays_per_second
        metrics["orbit_seconds"] = orbit.seconds
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    if verbose:
        line = f"rendered to {out}: {metrics.get('rays_per_second', 0.0):,.0f} rays/s"
        if dataset is not None:
            line += f", PSNR {metrics['mean_psnr']:.2f} dB, SSIM {metrics['mean_ssim']:.4f}"
        print(line)
    return metrics
