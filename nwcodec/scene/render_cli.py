"""``nwcodec render``: decode a scene stream (or a BASE + SCENE pair of a scene pack) and render it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

from nwcodec.files import read_bytes
from nwcodec.errors import InputError


def load_streams(streams: list[str]) -> tuple[object, int]:
    """The decoded field of ``[SCENE]`` or ``[BASE, SCENE]`` and the bytes the receiver read."""
    field, n, _ = load_streams_with_camera(streams)
    return field, n


def load_streams_with_camera(streams: list[str]) -> tuple[object, int, dict | None]:
    """As :func:`load_streams`, plus the scene stream's stored ``scene.camera`` header (or None)."""
    if len(streams) not in (1, 2):
        raise InputError(f"give SCENE.nwc or BASE.nwc SCENE.nwc, got {len(streams)} files")
    data = [read_bytes(s) for s in streams]
    if len(data) == 1:
        from .stream import decode_scene, scene_header

        camera = scene_header(data[0]).get("camera")
        return decode_scene(data[0]), len(data[0]), camera if isinstance(camera, dict) else None
    from .pack import decode_pack_scene

    field = decode_pack_scene(data[0], data[1])
    camera = None
    try:
        from .stream import scene_header

        camera = scene_header(data[1]).get("camera")
    except InputError:  # a pack scene stream may carry no scene header of its own
        camera = None
    return field, len(data[0]) + len(data[1]), camera if isinstance(camera, dict) else None


def render_command(streams: list[str], out: str, dataset: str | None = None, frames: int = 30,
                   size: int | None = None, device: str = "cpu", threads: int | None = None,
                   progress: bool | None = None) -> dict:
    """Decode, render to ``out`` (views + PSNR/SSIM with ``dataset``, orbit from the stream's camera,
    labelled contact sheet); return metrics. All cores by default; progress lines on stderr."""
    from nwcodec.scene.render_out import render_to_dir
    from nwcodec.nerf.dataparsers.blender import load_blender

    if frames < 0:
        raise InputError(f"--frames must be >= 0, got {frames}")
    if size is not None and size < 8:
        raise InputError(f"--size must be >= 8, got {size}")
    if device != "cpu" and device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"--device {device}: CUDA is not available on this machine")
    torch.set_num_threads(max(1, threads or os.cpu_count() or 1))
    model, n_bytes, camera = load_streams_with_camera(streams)
    ds = None
    if dataset is not None:
        bg = tuple(float(c) for c in model.background)
        ds = load_blender(dataset, "test", background=bg)
    print(f"render: {Path(streams[-1]).name}: {n_bytes:,} bytes decoded; rendering "
          f"{len(ds) if ds is not None else 0} test views and {frames} orbit frames on {device} "
          f"({torch.get_num_threads()} threads) -> {out}", file=sys.stderr, flush=True)
    metrics = render_to_dir(model, Path(out), ds, orbit_frames=frames, size=size, verbose=False, device=device,
                            camera=camera, progress=True if progress is None else progress,
                            title=Path(streams[-1]).name)
    n_params = sum(p.numel() for p in model.parameters())
    line = f"{out}: {n_bytes:,} bytes ({8 * n_bytes / n_params:.3f} bits/param)"
    if ds is not None:
        line += f", test PSNR {metrics['mean_psnr']:.2f} dB, SSIM {metrics['mean_ssim']:.4f} over {len(ds)} views"
    if "rays_per_second" in metrics:
        line += f", {metrics['rays_per_second']:,.0f} rays/s"
    print(line)
    return metrics
