"""``nwcodec render``: decode a scene stream (or a BASE + SCENE pair of a scene pack) and render it."""
from __future__ import annotations

from pathlib import Path

import torch

from nwcodec.cli_io import read_bytes
from nwcodec.errors import InputError


def load_streams(streams: list[str]) -> tuple[object, int]:
    """The decoded field of ``[SCENE]`` or ``[BASE, SCENE]`` and the bytes the receiver read."""
    if len(streams) not in (1, 2):
        raise InputError(f"give SCENE.nwc or BASE.nwc SCENE.nwc, got {len(streams)} files")
    data = [read_bytes(s) for s in streams]
    if len(data) == 1:
        from .stream import decode_scene

        return decode_scene(data[0]), len(data[0])
    from .pack import decode_pack_scene

    return decode_pack_scene(data[0], data[1]), len(data[0]) + len(data[1])


def render_command(streams: list[str], out: str, dataset: str | None = None, frames: int = 30,
                   size: int | None = None) -> dict:
    """Decode, render to ``out`` (views + PSNR/SSIM with ``dataset``, orbit, contact sheet); return metrics."""
    from apps.render import render_to_dir
    from nwcodec.nerf.dataparsers.blender import load_blender

    if frames < 0:
        raise InputError(f"--frames must be >= 0, got {frames}")
    if size is not None and size < 8:
        raise InputError(f"--size must be >= 8, got {size}")
    torch.set_num_threads(1)
    model, n_bytes = load_streams(streams)
    ds = None
    if dataset is not None:
        bg = tuple(float(c) for c in model.background)
        ds = load_blender(dataset, "test", background=bg)
    metrics = render_to_dir(model, Path(out), ds, orbit_frames=frames, size=size, verbose=False)
    n_params = sum(p.numel() for p in model.parameters())
    line = f"{out}: {n_bytes:,} bytes ({8 * n_bytes / n_params:.3f} bits/param)"
    if ds is not None:
        line += f", test PSNR {metrics['mean_psnr']:.2f} dB, SSIM {metrics['mean_ssim']:.4f} over {len(ds)} views"
    if "rays_per_second" in metrics:
        line += f", {metrics['rays_per_second']:,.0f} rays/s"
    print(line)
    return metrics
