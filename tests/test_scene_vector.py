"""The prebuilt scene vector (``bitstreams/scenes/demo_scene.nwc``) and ``nwcodec render``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nwcodec import decode, encode
from nwcodec.cli import main
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.render import render_views
from nwcodec.codec.digest import tensor_digest
from nwcodec.scene.stream import decode_scene, scene_header

REPO = Path(__file__).resolve().parents[1]
VECTOR = REPO / "bitstreams" / "scenes" / "demo_scene.nwc"


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory) -> Path:
    """The vector's procedural scene (seed 3), a few test views at low resolution."""
    return generate_scene(tmp_path_factory.mktemp("vector_scene"), seed=3, resolution=24, n_train=1, n_val=1, n_test=3)


def test_vector_is_small_and_decodes_to_its_digest() -> None:
    data = VECTOR.read_bytes()
    assert len(data) < 20_000
    assert scene_header(data)["camera"]["convention"] == "opengl-c2w"
    want = VECTOR.with_suffix(".sha256").read_text().strip()
    assert tensor_digest(decode(data)) == want


def test_vector_renders_a_view_in_seconds() -> None:
    model = decode_scene(VECTOR.read_bytes())
    pose = np.array([[1, 0, 0, 0], [0, 0, -1, -4], [0, 1, 0, 0], [0, 0, 0, 1]], np.float32)  # side view
    out = render_views(model, pose[None], 24, 24, 30.0)
    assert out.images.shape == (1, 24, 24, 3) and out.seconds < 10.0
    assert out.images.std() > 0.02  # an actual scene, not a blank background


def test_render_cli_on_vector_writes_views_video_and_metrics(tmp_path, scene_dir, capsys) -> None:
    out = tmp_path / "renders"
    assert main(["render", str(VECTOR), "--out", str(out), "--dataset", str(scene_dir),
                 "--frames", "3", "--size", "16"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["mean_psnr"] > 15.0, metrics["mean_psnr"]  # the decoded field shows the right scene
    assert sorted(p.name for p in (out / "views").iterdir()) == ["r_0.png", "r_1.png", "r_2.png"]
    assert (out / "contact_sheet.png").is_file() and list(out.glob("orbit.*"))
    line = capsys.readouterr().out
    assert f"{VECTOR.stat().st_size:,} bytes" in line and "PSNR" in line


def test_render_cli_without_dataset_renders_orbit(tmp_path) -> None:
    out = tmp_path / "orbit_only"
    assert main(["render", str(VECTOR), "--out", str(out), "--frames", "2", "--size", "12"]) == 0
    assert (out / "contact_sheet.png").is_file() and list(out.glob("orbit.*"))


@pytest.mark.parametrize("make", [
    lambda d: None,  # missing file
    lambda d: d.write_bytes(VECTOR.read_bytes()[:-9]),  # truncated scene stream
    lambda d: d.write_bytes(encode({"w": np.zeros((3, 3), np.float32)})),  # not a scene stream
    lambda d: d.write_bytes(b"hello, not a bitstream"),
])
def test_render_cli_bad_input_is_one_line_error(tmp_path, capsys, make) -> None:
    bad = tmp_path / "bad.nwc"
    make(bad)
    assert main(["render", str(bad), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nwcodec: error: ") and err.count("\n") == 1
    assert not (tmp_path / "r" / "metrics.json").exists()


def test_render_cli_needs_one_or_two_streams(tmp_path, capsys) -> None:
    assert main(["render", str(VECTOR), str(VECTOR), str(VECTOR), "--out", str(tmp_path / "r")]) == 1
    assert "SCENE.nwc" in capsys.readouterr().err
