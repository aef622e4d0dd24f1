"""Scene training (with and without a rate term), checkpoints/resume, and render_to_dir."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nwcodec.scene.render_out import render_to_dir
from nwcodec.errors import InputError
from nwcodec.nerf.config import load_scene_config
from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.train import load_checkpoint, load_scene_model, make_model, train_scene, validation_psnr

REPO = Path(__file__).resolve().parents[1]
REAL_SCENE = REPO.parent / "shared" / "data" / "scenes" / "primitives"
TINY = load_scene_config(REPO / "configs" / "scene_tiny.yaml")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = generate_scene(tmp_path_factory.mktemp("scene") / "s1", seed=1, resolution=32, n_train=8, n_val=2, n_test=2)
    return load_blender(root, "train"), load_blender(root, "val"), load_blender(root, "test")


def test_tiny_training_improves_psnr(data) -> None:
    train, val, _ = data
    model = make_model(TINY.model, train, seed=0)
    before = validation_psnr(model, val, 2, 4096, "cpu")
    result = train_scene(model, train, TINY.train, val_dataset=val, progress=False)
    assert result.steps == TINY.train.iters and len(result.history) == TINY.train.iters // 50
    assert result.final_val_psnr is not None and result.final_val_psnr > before + 3.0
    assert not model.training


def test_resume_matches_uninterrupted_run(data, tmp_path: Path) -> None:
    train = data[0]
    cfg = dataclasses.replace(TINY.train, iters=12, batch_rays=64, ckpt_every=6, val_every=0)
    full = make_model(TINY.model, train)
    train_scene(full, train, cfg, progress=False, checkpoint_path=tmp_path / "full.pt")
    part = make_model(TINY.model, train)
    cut = train_scene(part, train, cfg, progress=False, checkpoint_path=tmp_path / "part.pt", stop_at=7)
    assert cut.steps == 7 and load_checkpoint(tmp_path / "part.pt")["step"] == 7
    resumed = make_model(TINY.model, train)
    result = train_scene(resumed, train, cfg, progress=False, checkpoint_path=tmp_path / "part.pt", resume=True)
    assert result.steps == 12
    for (name, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert load_checkpoint(tmp_path / "part.pt")["step"] == 12
    reloaded = load_scene_model(tmp_path / "full.pt")
    for a, b in zip(full.state_dict().values(), reloaded.state_dict().values()):
        assert torch.equal(a, b)
    other = make_model(dataclasses.replace(TINY.model, coarse=dataclasses.replace(TINY.model.coarse, width=8)), train)
    with pytest.raises(InputError, match="different model config"):
        train_scene(other, train, cfg, progress=False, checkpoint_path=tmp_path / "part.pt", resume=True)


def test_checkpoint_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(InputError, match="not an nwcodec scene checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_rate_term_is_optimised(data) -> None:
    train = data[0]
    cfg = dataclasses.replace(TINY.train, iters=30, batch_rays=64, val_every=0)
    norms = {}
    for lam in (0.0, 1e3):
        model = make_model(TINY.model, train)
        weights = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
        rate_fn = lambda: sum((w**2).sum() for w in weights)  # noqa: E731  a differentiable stand-in for bits
        result = train_scene(model, train, cfg, rate_fn=rate_fn, lam=lam, progress=False, log_every=10)
        norms[lam] = rate_fn().item()
        assert result.history[-1]["rate_bits"] > 0
    assert norms[1e3] < 0.5 * norms[0.0]


def test_render_to_dir(data, tmp_path: Path) -> None:
    train, _, test = data
    model = make_model(TINY.model, train)
    metrics = render_to_dir(model, tmp_path / "out", dataset=test, orbit_frames=4, size=24, verbose=False)
    assert len(metrics["views"]) == 2 and np.isfinite(metrics["mean_psnr"]) and -1 <= metrics["mean_ssim"] <= 1
    assert metrics["rays_per_second"] > 0
    on_disk = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert on_disk["mean_psnr"] == pytest.approx(metrics["mean_psnr"])
    for key in ("orbit", "contact_sheet"):
        assert (tmp_path / "out" / metrics["files"][key]).stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "out" / "views").iterdir()) == ["r_0.png", "r_1.png"]
    orbit_only = render_to_dir(model, tmp_path / "orbit", orbit_frames=3, size=16, verbose=False)
    assert "mean_psnr" not in orbit_only and (tmp_path / "orbit" / orbit_only["files"]["contact_sheet"]).is_file()


def test_real_scene_short_training() -> None:
    if not (REAL_SCENE / "transforms_train.json").is_file():
        pytest.skip("shared/data/scenes/primitives not present")
    train = load_blender(REAL_SCENE, "train", downscale=4, max_views=20)
    val = load_blender(REAL_SCENE, "val", downscale=4, max_views=2)
    model = make_model(TINY.model, train)
    before = validation_psnr(model, val, 2, 4096, "cpu")
    result = train_scene(model, train, dataclasses.replace(TINY.train, iters=100), val_dataset=val, progress=False)
    assert result.final_val_psnr > before + 2.0


class _Scaled(torch.nn.Module):
    """A stand-in weight reparameterisation: weight = scale * latent."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(1.0))

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        return self.scale * latent


def test_parametrized_weights_train(data) -> None:
    from torch.nn.utils import parametrize

    train = data[0]
    model = make_model(TINY.model, train)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    for m in linears:
        parametrize.register_parametrization(m, "weight", _Scaled())
    scales = [m.parametrizations.weight[0].scale for m in linears]
    train_scene(model, train, dataclasses.replace(TINY.train, iters=5, batch_rays=64), progress=False)
    assert any(s.item() != 1.0 for s in scales)


def test_training_seconds_survive_a_resume(data, tmp_path: Path) -> None:
    """A resumed run reports the seconds of every session, not only its own (checkpoints record them)."""
    train = data[0]
    cfg = dataclasses.replace(TINY.train, iters=6, ckpt_every=3)
    model = make_model(TINY.model, train)
    first = train_scene(model, train, cfg, progress=False, checkpoint_path=tmp_path / "c.pt", resume=True, stop_at=3)
    assert first.seconds > 0
    again = train_scene(make_model(TINY.model, train), train, cfg, progress=False, checkpoint_path=tmp_path / "c.pt",
                        resume=True)
    assert again.steps == 6 and again.seconds > first.seconds
    done = train_scene(make_model(TINY.model, train), train, cfg, progress=False, checkpoint_path=tmp_path / "c.pt",
                       resume=True)  # nothing left to train: the recorded total comes back
    assert done.seconds == pytest.approx(again.seconds, abs=0.05)
