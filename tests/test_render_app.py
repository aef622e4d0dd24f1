"""The rendering app: labelled contact sheets, progress, orbit from the stream's camera, mp4, --device."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
iio = pytest.importorskip("imageio.v3")

from nwcodec.scene.sheets import LABEL_H, labelled_sheet  # noqa: E402
from nwcodec.nerf.config import ModelConfig  # noqa: E402
from nwcodec.nerf.dataparsers.blender import load_blender  # noqa: E402
from nwcodec.nerf.procedural import generate_scene  # noqa: E402
from nwcodec.nerf.train import make_model  # noqa: E402
from nwcodec.scene.stream import camera_info, encode_scene  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GRID = {"type": "kplanes", "kplanes": {"resolutions": [8, 16], "channels": 4, "hidden": 8, "geo_features": 3,
                                       "color_hidden": 8, "sh_degree": 0},
        "render": {"near": 2.0, "far": 6.0, "n_coarse": 8, "n_fine": 0, "background": [1.0, 1.0, 1.0]},
        "aabb": [-1.5, -1.5, -1.5, 1.5, 1.5, 1.5]}


@pytest.fixture(scope="module")
def stream_and_scene(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("render_app")
    scene = generate_scene(root / "scene", seed=2, resolution=16, n_train=1, n_val=1, n_test=3)
    model = make_model(ModelConfig.from_dict(GRID, "model"), load_blender(scene, "train"), seed=1)
    camera = camera_info(2.0, 6.0, 0.69, width=18, height=18, orbit_radius=3.5)  # orbit size from the stream
    path = root / "scene.nwc"
    path.write_bytes(encode_scene(model, camera=camera, quality=40))
    return path, scene


def _render(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "nwcodec", "render", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=120)


def _psnr8(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) / 255 - b.astype(np.float64) / 255) ** 2)
    return float(10 * np.log10(1.0 / max(mse, 1e-12)))


@pytest.mark.slow
def test_render_cli_sheet_progress_orbit(stream_and_scene, tmp_path: Path) -> None:
    stream, scene = stream_and_scene
    out = tmp_path / "r"
    res = _render([str(stream), "--out", str(out), "--dataset", str(scene), "--frames", "4", "--threads", "1"])
    assert res.returncode == 0, res.stderr
    assert "render test views: 3/3" in res.stderr and "render orbit: 4/4" in res.stderr  # progress when piped
    m = json.loads((out / "metrics.json").read_text())
    # each view's PSNR agrees with one recomputed here from the written PNGs (8-bit rounding: loose)
    for k, v in enumerate(m["views"]):
        ref = iio.imread(scene / "test" / f"r_{k}.png")[..., :3]
        if ref.shape[-1] == 3 and iio.imread(scene / "test" / f"r_{k}.png").shape[-1] == 4:
            alpha = iio.imread(scene / "test" / f"r_{k}.png")[..., 3:4] / 255.0
            ref = (ref / 255.0 * alpha + (1 - alpha)) * 255 + 0.5
        got = iio.imread(out / "views" / f"r_{k}.png")
        assert abs(_psnr8(got, np.clip(ref, 0, 255).astype(np.uint8)) - v["psnr"]) < 0.5
    assert m["mean_psnr"] == pytest.approx(np.mean([v["psnr"] for v in m["views"]]))
    # the orbit follows the stream's stored camera: 18 px frames (not the dataset's 16), as mp4
    assert m["files"]["orbit"] == "orbit.mp4" and m["orbit"]["side"] == 18 and m["orbit"]["radius"] == 3.5
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(out / "orbit.mp4"))
    meta = next(reader)
    assert tuple(meta["size"]) == (18, 18) and sum(1 for _ in reader) == 4
    # the sheet: 3 labelled pairs; the decoded image sits right of the ground truth below its caption
    sheet = iio.imread(out / "contact_sheet.png")
    assert sheet.shape[0] > 16 + LABEL_H and sheet.shape[1] >= 3 * 2 * 16


def test_labelled_sheet_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    truth, dec = rng.random((2, 8, 8, 3)), rng.random((2, 8, 8, 3))
    path = labelled_sheet(truth, dec, [20.5, 31.25], tmp_path / "s.png", title="t", pairs_per_row=2, pad=4)
    s = iio.imread(path)
    top = LABEL_H + 4
    y, x = top + 4 + LABEL_H, 4
    gt0 = (np.clip(truth[0], 0, 1) * 255 + 0.5).astype(np.uint8)
    de0 = (np.clip(dec[0], 0, 1) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(s[y:y + 8, x:x + 8], gt0)
    at = [c for c in range(x + 8, s.shape[1] - 7) if np.array_equal(s[y:y + 8, c:c + 8], de0)]
    assert len(at) == 1  # the decoded view sits once, right of its ground truth, on the same row
    caption = s[top + 4:top + 4 + LABEL_H, x:x + 60]
    assert (caption < 128).any()  # text was drawn in the caption band


def test_render_device_error(stream_and_scene, tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present: the error path is for machines without it")
    res = _render([str(stream_and_scene[0]), "--out", str(tmp_path / "d"), "--frames", "1", "--device", "cuda"])
    assert res.returncode != 0 and "CUDA is not available" in res.stderr
