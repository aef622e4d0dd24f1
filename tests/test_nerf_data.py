"""Scene readers, the procedural generator and the strict scene config loader."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from nwcodec.errors import ConfigError, InputError
from nwcodec.nerf.config import FieldConfig, ModelConfig, SceneConfig, load_scene_config
from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.procedural import generate_scene

REPO = Path(__file__).resolve().parents[1]
REAL_SCENE = REPO.parent / "shared" / "data" / "scenes" / "primitives"


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    return generate_scene(tmp_path_factory.mktemp("proc") / "s0", seed=0, resolution=32, n_train=4, n_val=2, n_test=2)


def _copy(scene: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "scene"
    shutil.copytree(scene, dst)
    return dst


def test_generator_writes_readable_scene(scene: Path) -> None:
    for split, n in (("train", 4), ("val", 2), ("test", 2)):
        ds = load_blender(scene, split)
        assert ds.images.shape == (n, 32, 32, 3) and ds.images.dtype == np.float32
        assert ds.poses.shape == (n, 4, 4)
        assert (ds.near, ds.far) == (2.0, 6.0)
        # cameras at radius 4 on the upper hemisphere, looking at the origin (-z axis towards it)
        centers = ds.poses[:, :3, 3]
        np.testing.assert_allclose(np.linalg.norm(centers, axis=1), 4.0, atol=1e-5)
        assert np.all(centers[:, 2] > 0)
        np.testing.assert_allclose(-ds.poses[:, :3, 2], -centers / 4.0, atol=1e-5)
    rgba = iio.imread(scene / "train" / "r_0.png")
    assert rgba.shape == (32, 32, 4)
    alpha = rgba[..., 3]
    assert alpha.min() == 0 and alpha.max() == 255  # transparent background, opaque objects
    assert 0.05 < (alpha > 0).mean() < 0.95


def test_generator_is_seeded(tmp_path: Path) -> None:
    a = generate_scene(tmp_path / "a", seed=3, resolution=24, n_train=1, n_val=1, n_test=1)
    b = generate_scene(tmp_path / "b", seed=3, resolution=24, n_train=1, n_val=1, n_test=1)
    c = generate_scene(tmp_path / "c", seed=4, resolution=24, n_train=1, n_val=1, n_test=1)
    img = lambda d: iio.imread(d / "train" / "r_0.png")  # noqa: E731
    assert np.array_equal(img(a), img(b))
    assert not np.array_equal(img(a), img(c))


def test_backgrounds_and_downscale(scene: Path) -> None:
    white = load_blender(scene, "train", background="white")
    black = load_blender(scene, "train", background="black")
    alpha = iio.imread(scene / "train" / "r_0.png")[..., 3] / 255.0
    np.testing.assert_allclose(white.images[0] - black.images[0], np.repeat(1 - alpha[..., None], 3, -1), atol=1e-6)
    half = load_blender(scene, "train", downscale=2)
    assert half.images.shape == (4, 16, 16, 3) and half.focal == pytest.approx(white.focal / 2)
    np.testing.assert_allclose(half.images[0], white.images[0].reshape(16, 2, 16, 2, 3).mean(axis=(1, 3)), atol=1e-5)


def test_missing_dir_and_file(scene: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_blender(tmp_path / "nope")
    s = _copy(scene, tmp_path)
    (s / "val" / "r_1.png").unlink()
    with pytest.raises(InputError, match="r_1.png"):
        load_blender(s, "val")
    (s / "transforms_test.json").unlink()
    with pytest.raises(InputError, match="transforms_test.json"):
        load_blender(s, "test")


def test_bad_json_names_file(scene: Path, tmp_path: Path) -> None:
    s = _copy(scene, tmp_path)
    (s / "transforms_train.json").write_text('{"camera_angle_x": 0.7, "frames": [', encoding="utf-8")
    with pytest.raises(InputError, match="bad JSON in .*transforms_train.json"):
        load_blender(s, "train")


def test_missing_keys(scene: Path, tmp_path: Path) -> None:
    s = _copy(scene, tmp_path)
    meta = json.loads((s / "transforms_val.json").read_text())
    del meta["frames"][1]["transform_matrix"]
    (s / "transforms_val.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"frames\[1\].*transform_matrix"):
        load_blender(s, "val")
    del meta["camera_angle_x"]
    (s / "transforms_val.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="camera_angle_x"):
        load_blender(s, "val")


def test_size_mismatch(scene: Path, tmp_path: Path) -> None:
    s = _copy(scene, tmp_path)
    iio.imwrite(s / "train" / "r_2.png", np.zeros((30, 32, 4), np.uint8))
    with pytest.raises(InputError, match="size mismatch"):
        load_blender(s, "train")


def test_bad_options(scene: Path) -> None:
    with pytest.raises(InputError, match="background"):
        load_blender(scene, background="green")
    with pytest.raises(InputError, match="split"):
        load_blender(scene, split="holdout")
    with pytest.raises(InputError, match="downscale"):
        load_blender(scene, downscale=0)


def test_real_scene_reads() -> None:
    if not (REAL_SCENE / "transforms_train.json").is_file():
        pytest.skip("shared/data/scenes/primitives not present")
    ds = load_blender(REAL_SCENE, "test", max_views=3)
    assert ds.images.shape == (3, 100, 100, 3)
    assert (ds.near, ds.far) == (2.0, 6.0)
    assert ds.focal == pytest.approx(50.0 / np.tan(0.5 * 0.6911112070083618))
    np.testing.assert_allclose(np.linalg.norm(ds.poses[:, :3, 3], axis=1), 4.0, atol=1e-3)
    assert ds.images.min() >= 0.0 and ds.images.max() <= 1.0 and ds.images.max() == 1.0  # white background


def test_config_files_load() -> None:
    for name in ("scene_tiny.yaml", "scene_default.yaml"):
        cfg = load_scene_config(REPO / "configs" / name)
        assert SceneConfig.from_dict(cfg.to_dict()) == cfg
        assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"train\.lrr: unknown key"):
        SceneConfig.from_dict({"train": {"lrr": 1e-3}})
    with pytest.raises(ConfigError, match=r"model\.coarse\.width"):
        SceneConfig.from_dict({"model": {"coarse": {"width": "wide"}}})
    with pytest.raises(ConfigError, match=r"field\.skips"):
        FieldConfig.from_dict({"depth": 4, "skips": [4]}, "field")
    with pytest.raises(ConfigError, match=r"model\.fine"):
        ModelConfig.from_dict({"fine": None}, "model")  # n_fine defaults to 64
    with pytest.raises(ConfigError, match=r"train\.iters"):
        SceneConfig.from_dict({"train": {"iters": True}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_scene_config(bad)
