"""The scene codec end to end on a tiny generated scene: train (EPR), encode, decode as a receiver, render."""
from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from nwcodec import decode, encode
from nwcodec.codec.digest import tensor_digest
from nwcodec.nerf.rays import get_rays
from nwcodec.cli import main
from nwcodec.errors import BitstreamError, InputError
from nwcodec.scene.config import parse_scene_config
from nwcodec.scene.pipeline import encode_fitted, fit_scene, load_splits, run_scene, scene_camera
from nwcodec.scene.stream import decode_scene, scene_header

from tests import independent
from tests.fresh_receiver import render_fresh

TINY = {
    "scene": {"generate": {"seed": 2, "resolution": 32, "n_train": 8, "n_val": 1, "n_test": 2}},
    "data": {"max_val_views": 1},
    "model": {"coarse": {"depth": 2, "width": 32, "skips": [], "pos_freqs": 4, "dir_freqs": 2},
              "fine": None, "render": {"n_coarse": 16, "n_fine": 0}},
    "train": {"iters": 40, "batch_rays": 128, "lr": 5e-3, "lr_final": 1e-3, "val_every": 20, "val_views": 1,
              "ckpt_every": 20, "chunk": 4096},
    "rate": {"lam": 0.05, "pretrain_iters": 20,
             "reparam": {"prior_groups": "model", "include_bias": True, "min_numel": 3, "init_step": 0.3,
                         "prior_fit_steps": 20}},
    "output": {"orbit_frames": 2, "render_size": 16},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cfg = copy.deepcopy(TINY)
    cfg["output"]["dir"] = str(tmp_path_factory.mktemp("scene_run"))
    return cfg, run_scene(copy.deepcopy(cfg), progress=False)


@pytest.fixture(scope="module")
def fitted(run):
    cfg, _ = run
    conf = parse_scene_config(copy.deepcopy(cfg))
    splits = load_splits(Path(cfg["output"]["dir"]) / "data", conf.data)
    model, _ = fit_scene(conf.model, conf.train, conf.rate, 0.05, splits["train"], None, None)
    return conf, splits, model, encode_fitted(model, 0.05, conf.rate, scene_camera(splits["test"]))


def test_pipeline_writes_stream_renders_and_summary(run) -> None:
    cfg, s = run
    out = Path(cfg["output"]["dir"])
    stream = (out / "scene.nwc").read_bytes()
    assert s["bytes"] == len(stream) and s["method"] == "epr"
    assert s["bytes"] < s["float32_bytes"] / 3, s  # the rate penalty and exact coding pay off even here
    assert s["receiver_bit_identical"] is True
    assert 0 < s["estimated_bytes"] and s["bytes"] <= 1.01 * s["stream_estimate_bytes"]  # empirical tables only when cheaper
    assert s["test_psnr"] > 10.0 and 0.0 < s["test_ssim"] <= 1.0
    assert s["train_seconds"] > 0 and s["rays_per_second"] > 0 and len(s["val"]) == 2
    saved = json.loads((out / "summary.json").read_text())
    assert saved["bytes"] == s["bytes"] and "test_psnr" in (out / "summary.md").read_text()
    render = out / "render"
    assert {p.name for p in (render / "views").iterdir()} == {"r_0.png", "r_1.png"}
    assert (render / "contact_sheet.png").is_file() and list(render.glob("orbit.*"))
    assert json.loads((render / "metrics.json").read_text())["mean_psnr"] == pytest.approx(s["test_psnr"])
    camera = scene_header(stream)["camera"]
    assert camera["width"] == 32 and camera["convention"] == "opengl-c2w"


def test_rerun_resumes_from_checkpoints_to_the_same_stream(run) -> None:
    cfg, s = run
    again = run_scene(copy.deepcopy(cfg), progress=False)
    assert again["bytes"] == s["bytes"] and again["test_psnr"] == s["test_psnr"]


def test_decoded_field_renders_bit_identical_to_trained_field(fitted, tmp_path) -> None:
    """The trained field (this process) against the receiver in a fresh process, and the stream's weights
    against the independent decoder (FORMAT.md alone)."""
    conf, splits, model, stream = fitted
    test = splits["test"]
    origins, dirs = get_rays(torch.as_tensor(test.poses[:1]), test.H, test.W, test.focal)
    with torch.no_grad():
        want = model.eval()(origins.reshape(-1, 3)[:32 * 32], dirs.reshape(-1, 3)[:32 * 32])["rgb"].numpy()
    got = render_fresh(tmp_path / "receiver", stream, test, 32 * 32)
    assert got.dtype == want.dtype and np.array_equal(got.view(np.uint32), want.view(np.uint32))
    assert independent.digest(independent.decode(stream)) == tensor_digest(decode(stream))


def test_float_field_goes_through_post_training_codec(fitted) -> None:
    conf, splits, _, _ = fitted
    model, _ = fit_scene(conf.model, conf.train, conf.rate, 0.0, splits["train"], None, None)
    low, high = (encode_fitted(model, 0.0, dataclasses.replace(conf.rate, quality=float(q)),
                                             scene_camera(splits["test"])) for q in (30, 70))
    assert len(low) < len(high) < 4 * sum(p.numel() for p in model.parameters())
    assert scene_header(low)["model"] == model.to_config()
    receiver = decode_scene(high)
    o, d = torch.zeros(8, 3), torch.tensor([[0.0, 0.0, -1.0]]).repeat(8, 1)
    o[:, 2] = 4.0
    assert torch.allclose(receiver(o, d)["rgb"], model.eval()(o, d)["rgb"], atol=0.05)


def test_decode_scene_rejects_a_weights_stream() -> None:
    with pytest.raises(InputError, match="not a scene bitstream"):
        decode_scene(encode({"w": np.ones((4, 4), np.float32)}))


@pytest.mark.parametrize("damage", ["flip", "truncate", "magic"])
def test_damaged_scene_stream_is_a_bitstream_error(fitted, damage: str) -> None:
    stream = bytearray(fitted[3])
    if damage == "flip":
        stream[len(stream) // 2] ^= 0x40
    elif damage == "truncate":
        stream = stream[: len(stream) - 7]
    else:
        stream[0] ^= 0xFF
    with pytest.raises(BitstreamError):
        decode_scene(bytes(stream))


def test_nwcodec_train_runs_scene_configs(run, tmp_path, capsys) -> None:
    cfg, s = run
    path = tmp_path / "scene.yaml"
    path.write_text(yaml.safe_dump({"task": "scene", **cfg}))
    assert main(["train", str(path)]) == 0  # resumes the fixture's finished run: no training
    assert json.loads((Path(cfg["output"]["dir"]) / "summary.json").read_text())["bytes"] == s["bytes"]
    capsys.readouterr()   # the resumed run's progress lines
    path.write_text(yaml.safe_dump({"task": "scene", **cfg, "rate": {"lam": [0.1, -2]}}))
    capsys.readouterr()  # the first run's progress lines
    assert main(["train", str(path)]) == 1
    assert capsys.readouterr().err.startswith("nwcodec: error: rate.lam[1]:")
