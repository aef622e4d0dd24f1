"""Orbit camera paths, video files (mp4 through imageio-ffmpeg, else GIF) and contact sheets."""
from __future__ import annotations

import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np


def look_at(eye: np.ndarray, target: tuple[float, float, float] = (0.0, 0.0, 0.0),
            up: tuple[float, float, float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera-to-world 4x4 (OpenGL: camera looks down -z, y up) at ``eye`` looking at ``target``."""
    eye, target, up = (np.asarray(v, dtype=np.float64) for v in (eye, target, up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-8:  # looking along ``up``: pick any perpendicular
        right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, cam_up, -forward, eye
    return pose


def sphere_pose(radius: float, azimuth: float, elevation: float) -> np.ndarray:
    """Pose on a sphere around the origin (z up), angles in radians, looking at the origin."""
    ce = math.cos(elevation)
    eye = radius * np.array([ce * math.cos(azimuth), ce * math.sin(azimuth), math.sin(elevation)])
    return look_at(eye)


def orbit_poses(n_frames: int, radius: float = 4.0, elevation_deg: float = 30.0) -> np.ndarray:
    """``n_frames`` poses circling the z axis at a fixed elevation: float32 ``[n, 4, 4]``."""
    elev = math.radians(elevation_deg)
    return np.stack([sphere_pose(radius, 2 * math.pi * k / n_frames, elev) for k in range(n_frames)]).astype(np.float32)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] -> uint8 (rounded)."""
    return (np.clip(np.asarray(images, dtype=np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _ffmpeg_available() -> bool:
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


def write_video(frames: np.ndarray, path: str | Path, fps: int = 15) -> Path:
    """Write ``[N,H,W,3]`` frames (float in [0,1] or uint8); mp4 when ffmpeg is available, else GIF.

    Returns the path written (its suffix tells which format was used).
    """
    frames = frames if frames.dtype == np.uint8 else to_uint8(frames)
    path = Path(path)
    if _ffmpeg_available():
        import imageio_ffmpeg

        # yuv420p needs even sizes: pad by edge replication.
        h, w = frames.shape[1:3]
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        out = path.with_suffix(".mp4")
        writer = imageio_ffmpeg.write_frames(
            str(out), (frames.shape[2], frames.shape[1]), fps=fps, macro_block_size=1,
            codec="libx264", pix_fmt_out="yuv420p", output_params=["-crf", "18"],
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        return out
    out = path.with_suffix(".gif")
    iio.imwrite(out, frames, duration=1000.0 / fps, loop=0)
    return out


def contact_sheet(images: np.ndarray, path: str | Path, columns: int = 5, pad: int = 2) -> Path:
    """Tile ``[N,H,W,3]`` images into one PNG grid (white gaps); returns the path."""
    images = images if images.dtype == np.uint8 else to_uint8(images)
    n, h, w = images.shape[:3]
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    sheet = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for k, img in enumerate(images):
        r, c = divmod(k, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        sheet[y : y + h, x : x + w] = img[..., :3]
    path = Path(path)
    iio.imwrite(path, sheet)
    return path
