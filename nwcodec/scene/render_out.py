"""Render a trained neural scene to a directory: scored test views, orbit video, labelled contact sheet.

Called by the CLI and the pipeline; importable without side effects.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Callable

import imageio.v3 as iio
import numpy as np
import torch

from nwcodec.scene.sheets import labelled_frames, labelled_sheet
from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.metrics import psnr, ssim
from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.render import render_views
from nwcodec.nerf.video import orbit_poses, to_uint8, write_video

DEFAULT_CAMERA_ANGLE_X = 0.6911112070083618  # the NeRF-Synthetic field of view
DEFAULT_ELEVATION_DEG = 30.0


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def orbit_settings(camera: dict | None, size: int | None, dataset: SceneDataset | None) -> dict:
    """Orbit side, focal, radius from the stream's ``scene.camera`` header (its width, field of view,
    orbit radius); ``size`` overrides the side; without a camera: the dataset's width, else 100 px."""
    camera = camera or {}
    side = size or camera.get("width") or (dataset.W if dataset is not None else 100)
    angle = camera.get("camera_angle_x") or DEFAULT_CAMERA_ANGLE_X
    radius = camera.get("orbit_radius") or 4.0
    return {"side": int(side), "focal": 0.5 * int(side) / math.tan(0.5 * float(angle)), "radius": float(radius),
            "camera_angle_x": float(angle)}


def _render_each(model: SceneModel, poses: np.ndarray, H: int, W: int, focal: float, chunk: int,
                 device: torch.device | str, what: str, log: Callable[[str], None] | None) -> tuple[np.ndarray, float]:
    """Render ``poses`` one by one (a progress line per view); returns images and rays/s."""
    images, seconds = [], 0.0
    step = max(1, len(poses) // 10)
    for k, pose in enumerate(poses):
        out = render_views(model, pose[None], H, W, focal, chunk, device)
        images.append(out.images[0])
        seconds += out.seconds
        if log is not None and ((k + 1) % step == 0 or k + 1 == len(poses)):
            log(f"  render {what}: {k + 1}/{len(poses)} ({H * W * (k + 1) / max(seconds, 1e-9):,.0f} rays/s)")
    return np.stack(images), len(poses) * H * W / max(seconds, 1e-9)


def render_to_dir(
    scene_model: SceneModel, out_dir: str | Path, dataset: SceneDataset | None = None,
    orbit_frames: int = 24, size: int | None = None, chunk: int = 8192, device: torch.device | str = "cpu",
    fps: int = 12, radius: float | None = None, elevation_deg: float = DEFAULT_ELEVATION_DEG,
    verbose: bool = True, camera: dict | None = None, progress: bool = False, title: str = "",
) -> dict:
    """Write renders and ``metrics.json`` under ``out_dir``; return the metrics dict.

    With ``dataset``: every view is rendered to ``views/r_{i}.png`` and scored (PSNR, SSIM, means),
    and ``contact_sheet.png`` pairs each ground-truth view with its decoded render, labelled with
    the view's PSNR. Always: an orbit of ``orbit_frames`` frames following ``camera`` (the stream's
    ``scene.camera``: size, field of view, orbit radius; ``size``/``radius`` override) as mp4 (GIF
    without ffmpeg). ``rays_per_second`` is measured on the test views, else on the orbit.
    ``progress`` prints a line per ~10% of the views on stderr.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    scene_model = scene_model.to(device).eval()
    log = _stderr if progress else None
    metrics: dict = {"files": {}}
    if dataset is not None:
        images, rps = _render_each(scene_model, dataset.poses, dataset.H, dataset.W, dataset.focal, chunk, device,
                                   "test views", log)
        views = [{"index": k, "psnr": psnr(img, ref), "ssim": ssim(img, ref)}
                 for k, (img, ref) in enumerate(zip(images, dataset.images))]
        metrics.update(views=views, mean_psnr=float(np.mean([v["psnr"] for v in views])),
                       mean_ssim=float(np.mean([v["ssim"] for v in views])), rays_per_second=rps)
        (out / "views").mkdir(exist_ok=True)
        for k, img in enumerate(images):
            iio.imwrite(out / "views" / f"r_{k}.png", to_uint8(img))
        head = (title + ": " if title else "") + f"mean PSNR {metrics['mean_psnr']:.2f} dB over {len(views)} views"
        metrics["files"]["views"] = "views"
        metrics["files"]["contact_sheet"] = labelled_sheet(dataset.images, images, [v["psnr"] for v in views],
                                                           out / "contact_sheet.png", title=head).name
    if orbit_frames > 0:
        orbit = orbit_settings(camera, size, dataset)
        poses = orbit_poses(orbit_frames, radius or orbit["radius"], elevation_deg)
        frames, rps = _render_each(scene_model, poses, orbit["side"], orbit["side"], orbit["focal"], chunk, device,
                                   "orbit", log)
        metrics["files"]["orbit"] = write_video(frames, out / "orbit", fps).name
        if dataset is None:
            metrics["files"]["contact_sheet"] = labelled_frames(frames, out / "contact_sheet.png", title=title).name
            metrics["rays_per_second"] = rps
        metrics["orbit"] = orbit
        metrics["orbit_rays_per_second"] = rps
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    if verbose:
        line = f"rendered to {out}: {metrics.get('rays_per_second', 0.0):,.0f} rays/s"
        if dataset is not None:
            line += f", PSNR {metrics['mean_psnr']:.2f} dB, SSIM {metrics['mean_ssim']:.4f}"
        print(line)
    return metrics
