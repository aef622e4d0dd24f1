"""Random training backgrounds: the loader keeps each view's alpha, and the re-compositing is exact."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import torch

from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.train import on_background


def test_loader_keeps_the_png_alpha(tmp_path) -> None:
    root = generate_scene(tmp_path / "s", seed=2, resolution=16, n_train=2, n_val=1, n_test=1)
    ds = load_blender(root, "train", background="white")
    png = iio.imread(root / "train" / "r_1.png").astype(np.float32) / 255.0  # straight-alpha RGBA
    assert ds.alphas is not None and ds.alphas.shape == (2, 16, 16)
    np.testing.assert_allclose(ds.alphas[1], png[..., 3], atol=1e-6)
    assert 0.0 < ds.alphas.mean() < 1.0  # the procedural scene has both object and empty pixels
    half = load_blender(root, "train", background="white", downscale=2)
    np.testing.assert_allclose(half.alphas[1], png[..., 3].reshape(8, 2, 8, 2).mean(axis=(1, 3)), atol=1e-6)


def test_on_background_known_answer() -> None:
    # a half-covered red pixel rendered over white, moved onto blue: 0.5 red + 0.5 blue
    rgb = torch.tensor([[0.5 * 1.0 + 0.5 * 1.0, 0.5 * 0.0 + 0.5 * 1.0, 0.5 * 0.0 + 0.5 * 1.0]])
    out = on_background(rgb, torch.tensor([0.5]), torch.ones(3), torch.tensor([[0.0, 0.0, 1.0]]))
    torch.testing.assert_close(out, torch.tensor([[0.5, 0.0, 0.5]]))


def test_a_field_that_matches_the_view_matches_it_on_any_background() -> None:
    """Target and prediction move by the same amount when coverage equals the view's alpha."""
    gen = torch.Generator().manual_seed(0)
    colour, alpha = torch.rand(64, 3, generator=gen), torch.rand(64, generator=gen)
    white = torch.ones(3)
    view = colour * alpha[:, None] + (1 - alpha[:, None]) * white      # the loader's composite
    bg = torch.rand(64, 3, generator=gen)
    target = view + (1 - alpha[:, None]) * (bg - white)                 # what train_scene does to targets
    torch.testing.assert_close(on_background(view, alpha, white, bg), target)
    torch.testing.assert_close(target, colour * alpha[:, None] + (1 - alpha[:, None]) * bg)


def test_training_with_random_backgrounds_runs(tmp_path) -> None:
    import dataclasses
    from pathlib import Path

    from nwcodec.nerf.config import load_scene_config
    from nwcodec.nerf.train import make_model, train_scene

    tiny = load_scene_config(Path(__file__).resolve().parents[1] / "configs" / "scene_tiny.yaml")
    root = generate_scene(tmp_path / "s", seed=1, resolution=24, n_train=6, n_val=1, n_test=1)
    train = load_blender(root, "train")
    cfg = dataclasses.replace(tiny.train, iters=60, val_every=0, random_background=True)
    model = make_model(tiny.model, train, seed=0)
    res = train_scene(model, train, cfg, progress=False)
    assert res.steps == 60 and all(np.isfinite(h["loss"]) for h in res.history)
