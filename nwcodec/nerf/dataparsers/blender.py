"""Reader for NeRF-Synthetic ("Blender") scenes: ``transforms_{split}.json`` + RGBA PNGs.

Cameras follow the OpenGL convention (camera looks down -z, y up); ``transform_matrix`` is
camera-to-world. Images are composited on a solid background as NeRF does.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from nwcodec.errors import InputError

DEFAULT_NEAR = 2.0
DEFAULT_FAR = 6.0
BACKGROUNDS = {"white": (1.0, 1.0, 1.0), "black": (0.0, 0.0, 0.0)}
SPLITS = ("train", "val", "test")


@dataclass
class SceneDataset:
    """One split of a scene: images composited on ``background``, camera-to-world poses."""

    images: np.ndarray  # float32 [N, H, W, 3] in [0, 1]
    poses: np.ndarray  # float32 [N, 4, 4] camera-to-world
    focal: float
    H: int
    W: int
    near: float
    far: float
    background: tuple[float, float, float]
    split: str = "train"
    alphas: np.ndarray | None = None  # float32 [N, H, W] coverage of each pixel (None: opaque views)

    def __len__(self) -> int:
        return int(self.images.shape[0])


def background_rgb(background: str | tuple[float, float, float]) -> tuple[float, float, float]:
    """Resolve ``"white"``/``"black"`` or an RGB triple in [0, 1] to a float triple."""
    if isinstance(background, str):
        if background not in BACKGROUNDS:
            raise InputError(f"unknown background {background!r}; use one of {sorted(BACKGROUNDS)} or an RGB triple")
        return BACKGROUNDS[background]
    rgb = tuple(float(c) for c in background)
    if len(rgb) != 3 or not all(0.0 <= c <= 1.0 for c in rgb):
        raise InputError(f"background must be 3 values in [0, 1], got {background!r}")
    return rgb  # type: ignore[return-value]


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise InputError(f"missing scene file: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"bad JSON in {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"bad JSON in {path}: top level must be an object")
    return data


def _require(obj: dict, key: str, where: str) -> object:
    if key not in obj:
        raise InputError(f"{where}: missing key {key!r}")
    return obj[key]


def _read_rgba(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InputError(f"missing image: {path}")
    try:
        img = iio.imread(path)
    except Exception as exc:  # imageio raises many types for unreadable files
        raise InputError(f"cannot read image {path}: {exc}") from exc
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (3, 4):
        raise InputError(f"image {path} must be RGB or RGBA, got shape {img.shape}")
    scale = 65535.0 if img.dtype == np.uint16 else 255.0
    img = img.astype(np.float32) / scale
    if img.shape[-1] == 3:
        img = np.concatenate([img, np.ones_like(img[..., :1])], axis=-1)
    return img


def _downscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Box-filter downscale of premultiplied RGBA by an integer factor."""
    h, w = img.shape[0] // factor, img.shape[1] // factor
    img = img[: h * factor, : w * factor]
    return img.reshape(h, factor, w, factor, -1).mean(axis=(1, 3))


def read_render_settings(scene_dir: Path) -> tuple[float, float]:
    """Near/far from ``scene_info.json`` when present, else the NeRF-Synthetic defaults."""
    info_path = scene_dir / "scene_info.json"
    if not info_path.exists():
        return DEFAULT_NEAR, DEFAULT_FAR
    info = _read_json(info_path)
    near, far = float(info.get("near", DEFAULT_NEAR)), float(info.get("far", DEFAULT_FAR))
    if not 0.0 <= near < far:
        raise InputError(f"{info_path}: need 0 <= near < far, got near={near}, far={far}")
    return near, far


def load_blender(
    scene_dir: str | Path,
    split: str = "train",
    background: str | tuple[float, float, float] = "white",
    downscale: int = 1,
    max_views: int | None = None,
) -> SceneDataset:
    """Read one split of a NeRF-Synthetic scene directory.

    ``downscale`` is an integer factor (box filter on premultiplied RGBA; focal scaled alike);
    ``max_views`` keeps the first views only. Raises :class:`InputError` on any fault.
    """
    scene_dir = Path(scene_dir)
    if not scene_dir.is_dir():
        raise InputError(f"scene directory not found: {scene_dir}")
    if split not in SPLITS:
        raise InputError(f"unknown split {split!r}; use one of {SPLITS}")
    if int(downscale) != downscale or downscale < 1:
        raise InputError(f"downscale must be a positive integer, got {downscale!r}")
    bg = np.asarray(background_rgb(background), dtype=np.float32)
    meta_path = scene_dir / f"transforms_{split}.json"
    meta = _read_json(meta_path)
    where = str(meta_path)
    try:
        angle_x = float(_require(meta, "camera_angle_x", where))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: camera_angle_x must be a number") from exc
    frames = _require(meta, "frames", where)
    if not isinstance(frames, list) or not frames:
        raise InputError(f"{where}: 'frames' must be a non-empty list")
    if max_views is not None:
        frames = frames[:max_views]
    images, poses = [], []
    for i, frame in enumerate(frames):
        fwhere = f"{where} frames[{i}]"
        if not isinstance(frame, dict):
            raise InputError(f"{fwhere}: must be an object")
        file_path = str(_require(frame, "file_path", fwhere))
        pose = np.asarray(_require(frame, "transform_matrix", fwhere), dtype=np.float64)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise InputError(f"{fwhere}: transform_matrix must be a finite 4x4 matrix")
        img_path = scene_dir / file_path
        if img_path.suffix.lower() != ".png":
            img_path = img_path.with_name(img_path.name + ".png")
        rgba = _read_rgba(img_path)
        if images and rgba.shape != images[0].shape:
            raise InputError(
                f"image size mismatch: {img_path} is {rgba.shape[1]}x{rgba.shape[0]}, "
                f"first image is {images[0].shape[1]}x{images[0].shape[0]}"
            )
        images.append(rgba)
        poses.append(pose)
    rgba_all = np.stack(images)
    H0, W0 = rgba_all.shape[1:3]
    focal = 0.5 * W0 / math.tan(0.5 * angle_x)
    if downscale > 1:
        if H0 < downscale or W0 < downscale:
            raise InputError(f"downscale {downscale} too large for {W0}x{H0} images")
        premult = np.concatenate([rgba_all[..., :3] * rgba_all[..., 3:], rgba_all[..., 3:]], axis=-1)
        premult = np.stack([_downscale(im, int(downscale)) for im in premult])
        rgb = premult[..., :3] + (1.0 - premult[..., 3:]) * bg
        alpha = premult[..., 3:]
        focal /= downscale
    else:
        alpha = rgba_all[..., 3:]
        rgb = rgba_all[..., :3] * alpha + (1.0 - alpha) * bg
    near, far = read_render_settings(scene_dir)
    return SceneDataset(
        images=np.ascontiguousarray(rgb, dtype=np.float32),
        poses=np.stack(poses).astype(np.float32),
        focal=float(focal),
        H=int(rgb.shape[1]),
        W=int(rgb.shape[2]),
        near=near,
        far=far,
        background=tuple(float(c) for c in bg),  # type: ignore[arg-type]
        split=split,
        alphas=np.ascontiguousarray(alpha[..., 0], dtype=np.float32),
    )
