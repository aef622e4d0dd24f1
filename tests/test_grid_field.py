"""The K-Planes grid field: naming contract, torch-free shapes, training, skipping, fresh-process decode."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nwcodec.nerf.config import ModelConfig, TrainConfig
from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.metrics import psnr
from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.rays import get_rays
from nwcodec.nerf.render import render_views
from nwcodec.nerf.specs import expected_shapes
from nwcodec.nerf.train import make_model, train_scene
from nwcodec.scene.stream import decode_scene, encode_scene

REPO = Path(__file__).resolve().parents[1]
BOX = (-1.2, -1.2, -1.2, 1.2, 1.2, 1.2)
GRID = {"type": "kplanes", "aabb": list(BOX), "render": {"n_coarse": 24, "n_fine": 0},
        "kplanes": {"resolutions": [16, 32], "channels": 4, "hidden": 16, "geo_features": 7,
                    "color_hidden": 16, "sh_degree": 1}}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = generate_scene(tmp_path_factory.mktemp("grid_scene"), seed=1, resolution=32, n_train=8, n_val=1, n_test=2)
    return load_blender(d, "train"), load_blender(d, "test")


@pytest.fixture(scope="module")
def trained(scene):
    train, test = scene
    torch.manual_seed(0)
    model = make_model(ModelConfig.from_dict(GRID), train)
    before = render_views(model, test.poses, test.H, test.W, test.focal).images
    cfg = TrainConfig(iters=100, batch_rays=192, lr=2e-2, lr_final=2e-3, val_every=0, ckpt_every=0)
    train_scene(model, train, cfg, progress=False)
    return model, before


def test_plane_parameter_names_and_shapes() -> None:
    model = SceneModel(ModelConfig.from_dict(GRID))
    planes = {k: tuple(v.shape) for k, v in model.state_dict().items() if ".planes." in k}
    assert planes == {f"field.planes.{3 * lvl + p}.weight": (4, r, r) for lvl, r in enumerate((16, 32)) for p in range(3)}


@pytest.mark.parametrize("cfg", [GRID, {"coarse": {"depth": 3, "width": 16, "skips": [2]}, "fine": None,
                                        "render": {"n_fine": 0}}, {}])
def test_torch_free_shapes_match_the_built_module(cfg) -> None:
    config = ModelConfig.from_dict(cfg)
    built = {k: tuple(v.shape) for k, v in SceneModel(config).state_dict().items()}
    assert expected_shapes(config) == built


def test_mlp_config_dict_is_unchanged_and_grid_dict_names_its_type() -> None:
    assert set(ModelConfig().to_dict()) == {"coarse", "fine", "render"}
    grid = ModelConfig.from_dict(GRID).to_dict()
    assert grid["type"] == "kplanes" and grid["aabb"] == list(BOX) and "coarse" not in grid
    assert ModelConfig.from_dict(json.loads(json.dumps(grid))) == ModelConfig.from_dict(GRID)


@pytest.mark.slow
def test_grid_field_training_raises_psnr(scene, trained) -> None:
    _, test = scene
    model, before = trained
    after = render_views(model, test.poses, test.H, test.W, test.focal).images
    p0 = np.mean([psnr(a, b) for a, b in zip(before, test.images)])
    p1 = np.mean([psnr(a, b) for a, b in zip(after, test.images)])
    assert p1 > p0 + 3.0 and p1 > 18.0, (p0, p1)


@pytest.mark.slow
def test_skipping_and_early_termination_keep_the_image(scene, trained) -> None:
    _, test = scene
    model, _ = trained
    origins, dirs = get_rays(torch.as_tensor(test.poses[:1]), test.H, test.W, test.focal)
    o, d = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    with torch.no_grad():
        fast = model.eval()(o, d)["rgb"]
        model.train()
        model._train_calls = -10**9  # no training-time skipping: every box sample is queried
        full = model(o, d)["rgb"]  # training mode: jittered, every box sample queried, no early stop
        model.eval()
    ref = torch.as_tensor(test.images[0]).reshape(-1, 3)
    p_fast = psnr(fast.clamp(0, 1).numpy(), ref.numpy())
    p_full = psnr(full.clamp(0, 1).numpy(), ref.numpy())
    assert abs(p_fast - p_full) < 1.0, (p_fast, p_full)
    assert model._occupancy.fraction < 1.0


@pytest.mark.slow
def test_grid_stream_decodes_identically_in_a_fresh_process(tmp_path, scene, trained) -> None:
    _, test = scene
    model, _ = trained
    data = encode_scene(model.cpu().eval(), quality=60.0)
    path = tmp_path / "grid.nwc"
    path.write_bytes(data)
    np.save(tmp_path / "pose.npy", test.poses[:1])
    receiver = decode_scene(data)
    assert receiver.config.type == "kplanes" and receiver.config.aabb == BOX
    here = render_views(receiver, test.poses[:1], test.H, test.W, test.focal).images
    script = (
        "import sys, numpy as np, torch\n"
        "from nwcodec.scene.stream import decode_scene\n"
        "from nwcodec.nerf.render import render_views\n"
        "torch.set_num_threads(1)\n"
        f"m = decode_scene(open({str(path)!r}, 'rb').read())\n"
        f"out = render_views(m, np.load({str(tmp_path / 'pose.npy')!r}), {test.H}, {test.W}, {test.focal!r})\n"
        f"np.save({str(tmp_path / 'fresh.npy')!r}, out.images)\n"
    )
    env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=REPO, timeout=120)
    fresh = np.load(tmp_path / "fresh.npy")
    np.testing.assert_array_equal(fresh, here)
    original = render_views(model, test.poses[:1], test.H, test.W, test.focal).images
    assert abs(psnr(here[0], test.images[0]) - psnr(original[0], test.images[0])) < 0.5
