"""Rays, encoding, fields, samplers, volume rendering, metrics, rendering and video output."""
from __future__ import annotations

import json
import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from nwcodec.errors import InputError
from nwcodec.nerf.config import FieldConfig, ModelConfig, RenderConfig
from nwcodec.nerf.encoding import PositionalEncoding
from nwcodec.nerf.fields import NeRFField
from nwcodec.nerf.metrics import gaussian_window, psnr, ssim
from nwcodec.nerf.model import SceneModel
from nwcodec.nerf.rays import get_rays
from nwcodec.nerf.render import render_views
from nwcodec.nerf.renderers import render_weights, volume_render
from nwcodec.nerf.samplers import hierarchical_samples, sample_pdf, stratified_samples
from nwcodec.nerf.video import contact_sheet, look_at, orbit_poses, write_video

SMALL = FieldConfig(depth=3, width=16, skips=(2,), pos_freqs=4, dir_freqs=2)


def small_model(fine: bool = True, seed: int = 0) -> SceneModel:
    torch.manual_seed(seed)
    cfg = ModelConfig(coarse=SMALL, fine=SMALL if fine else None, render=RenderConfig(n_coarse=16, n_fine=16 if fine else 0))
    return SceneModel(cfg)


def test_rays_shapes_and_directions() -> None:
    pose = torch.tensor(look_at(np.array([0.0, -4.0, 0.0])), dtype=torch.float32)
    H, W, focal = 6, 8, 10.0
    o, d = get_rays(pose, H, W, focal)
    assert o.shape == d.shape == (H, W, 3)
    np.testing.assert_allclose(o.numpy(), np.broadcast_to([0.0, -4.0, 0.0], (H, W, 3)), atol=1e-6)
    # the image centre looks at the origin (+y); pixel right -> +x, pixel down -> -z
    centre = (d[H // 2 - 1, W // 2 - 1] + d[H // 2, W // 2]) / 2
    np.testing.assert_allclose(centre.numpy(), [0.0, 1.0, 0.0], atol=1e-6)
    assert d[0, -1, 0] > d[0, 0, 0] and d[-1, 0, 2] < d[0, 0, 2]
    batch = torch.stack([pose, pose])
    ob, db = get_rays(batch, H, W, focal)
    assert ob.shape == db.shape == (2, H, W, 3)
    assert torch.equal(db[1], d)


def test_positional_encoding() -> None:
    enc = PositionalEncoding(3, 4)
    x = torch.tensor([[0.5, -1.0, 2.0]])
    y = enc(x)
    assert y.shape == (1, enc.out_dim) == (1, 3 + 3 * 2 * 4)
    assert torch.equal(y[:, :3], x)
    assert torch.allclose(y[0, 3 + 3 * 3 + 1], torch.sin(torch.tensor(8.0 * -1.0)))


def test_field_config_roundtrip_and_shapes() -> None:
    field = NeRFField(SMALL)
    cfg = json.loads(json.dumps(field.to_config()))
    rebuilt = NeRFField.from_config(cfg)
    rebuilt.load_state_dict(field.state_dict())
    pts, dirs = torch.randn(5, 7, 3), torch.nn.functional.normalize(torch.randn(5, 7, 3), dim=-1)
    rgb, density = field(pts, dirs)
    assert rgb.shape == (5, 7, 3) and density.shape == (5, 7)
    assert torch.all((rgb > 0) & (rgb < 1)) and torch.all(density >= 0)
    assert torch.equal(rebuilt(pts, dirs)[0], rgb)
    assert all(isinstance(m, torch.nn.Linear) for m in field.modules() if list(m.parameters(recurse=False)))
    assert NeRFField(FieldConfig(depth=2, width=8, skips=(), view_dependent=False))(pts)[0].shape == (5, 7, 3)


def test_stratified_sampler_monotonic_in_bounds() -> None:
    gen = torch.Generator().manual_seed(0)
    for perturb in (False, True):
        t = stratified_samples(100, 32, 2.0, 6.0, perturb, generator=gen)
        assert t.shape == (100, 32)
        assert torch.all(t[:, 1:] > t[:, :-1]) and t.min() >= 2.0 and t.max() <= 6.0
    edges = torch.linspace(2.0, 6.0, 33)
    assert torch.allclose(stratified_samples(1, 32, 2.0, 6.0, False)[0], (edges[1:] + edges[:-1]) / 2)


def test_importance_sampler_follows_weights() -> None:
    t_c = stratified_samples(64, 32, 2.0, 6.0, False)
    weights = torch.zeros(64, 32)
    weights[:, 20] = 1.0  # all mass around t_c[:, 20]
    t_all = hierarchical_samples(t_c, weights, 64, perturb=True, generator=torch.Generator().manual_seed(1))
    assert t_all.shape == (64, 96)
    assert torch.all(t_all[:, 1:] >= t_all[:, :-1])
    new = sample_pdf(0.5 * (t_c[:, 1:] + t_c[:, :-1]), weights[:, 1:-1], 64, deterministic=True)
    lo, hi = t_c[0, 19], t_c[0, 21]
    assert ((new >= lo) & (new <= hi)).float().mean() > 0.95


def test_volume_render_weights_and_background() -> None:
    gen = torch.Generator().manual_seed(0)
    t = stratified_samples(50, 24, 2.0, 6.0, True, generator=gen)
    density = torch.rand(50, 24, generator=gen) * torch.linspace(0, 3, 50)[:, None]
    rgb = torch.rand(50, 24, 3, generator=gen)
    bg = torch.tensor([1.0, 0.5, 0.0])
    out = volume_render(rgb, density, t, torch.ones(50), 6.0, bg)
    assert out["rgb"].shape == (50, 3) and out["depth"].shape == (50,) and out["acc"].shape == (50,)
    w = out["weights"]
    assert torch.all(w >= 0) and torch.all(w.sum(-1) <= 1 + 1e-6)
    assert torch.allclose(out["acc"][0], torch.tensor(0.0)) and torch.allclose(out["rgb"][0], bg)  # empty ray
    assert torch.all(out["depth"] >= 2.0 - 1e-4) and torch.all(out["depth"] <= 6.0 + 1e-4)
    # an opaque wall at one sample takes all the weight there
    wall = torch.zeros(1, 24)
    wall[0, 10] = 1e4
    assert torch.allclose(render_weights(wall, torch.full((1, 24), 0.1))[0, 10], torch.tensor(1.0))


def test_psnr_ssim_sanity() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(size=(32, 32, 3))
    assert psnr(a, a) == math.inf and ssim(a, a) == pytest.approx(1.0)
    assert psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)) == pytest.approx(20.0)
    assert ssim(a, np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1)) < 0.9
    # a constant offset leaves structure and contrast; SSIM reduces to the luminance term
    b, c = np.full((16, 16), 0.5), np.full((16, 16), 0.6)
    c1 = 0.01**2
    assert ssim(b, c) == pytest.approx((2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1))
    assert gaussian_window().shape == (11,) and gaussian_window().sum() == pytest.approx(1.0)
    with pytest.raises(InputError):
        psnr(a, a[:5])


def test_render_views_deterministic_and_chunked() -> None:
    model = small_model()
    poses = orbit_poses(2)
    a = render_views(model, poses, 12, 10, 15.0, chunk=37)
    b = render_views(model, poses, 12, 10, 15.0, chunk=37)
    assert a.images.shape == (2, 12, 10, 3) and a.depths.shape == a.accs.shape == (2, 12, 10)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.depths, b.depths)
    c = render_views(model, poses, 12, 10, 15.0, chunk=10_000)
    np.testing.assert_allclose(a.images, c.images, atol=1e-5)
    assert a.rays_per_second > 0 and model.training  # training mode restored


def test_scene_model_config_roundtrip() -> None:
    model = small_model()
    rebuilt = SceneModel.from_config(json.loads(json.dumps(model.to_config())))
    rebuilt.load_state_dict(model.state_dict())
    pose = orbit_poses(1)
    assert np.array_equal(render_views(model, pose, 8, 8, 10.0).images, render_views(rebuilt, pose, 8, 8, 10.0).images)
    coarse_only = small_model(fine=False)
    assert coarse_only.fine is None
    assert render_views(coarse_only, pose, 8, 8, 10.0).images.shape == (1, 8, 8, 3)


def test_orbit_video_and_contact_sheet(tmp_path: Path) -> None:
    poses = orbit_poses(6, radius=4.0, elevation_deg=30.0)
    np.testing.assert_allclose(np.linalg.norm(poses[:, :3, 3], axis=1), 4.0, atol=1e-5)
    np.testing.assert_allclose(poses[:, 2, 3], 4.0 * math.sin(math.radians(30)), atol=1e-5)
    frames = np.random.default_rng(0).uniform(size=(6, 15, 17, 3)).astype(np.float32)
    video = write_video(frames, tmp_path / "orbit", fps=6)
    assert video.exists() and video.stat().st_size > 0 and video.suffix in (".mp4", ".gif")
    sheet = iio.imread(contact_sheet(frames, tmp_path / "sheet.png", columns=4))
    assert sheet.shape == (2 * 17 + 2, 4 * 19 + 2, 3)


def test_video_gif_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nwcodec.nerf.video as video

    monkeypatch.setattr(video, "_ffmpeg_available", lambda: False)
    frames = np.random.default_rng(1).uniform(size=(3, 9, 11, 3))
    out = video.write_video(frames, tmp_path / "orbit.mp4", fps=5)
    assert out.suffix == ".gif"
    assert iio.imread(out).shape[:3] == (3, 9, 11)
