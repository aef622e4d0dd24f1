"""Reparameterization by parameter name (grid planes -> ``block_dct``), the whole-stream rate, and
scene packs on plane fields (shared planes + per-scene residuals), cross-checked with the
independent decoder (tests/independent)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import nwcodec
from nwcodec.codec import encode_latent_model
from nwcodec.errors import ConfigError, InputError
from nwcodec.reparam import (ReparamConfig, estimate_stream, param_groups, reparameterize, stream_rate_bits,
                             StreamRate)
from nwcodec.reparam.export import export_latents
from nwcodec.reparam.model_reparam import latent_decoders
from nwcodec.scene.pack_shared import ResidualScene, encode_shared_base, encode_shared_delta
from tests import independent as ind


def _smooth(c: int, r: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, r), torch.linspace(0, 1, r), indexing="ij")
    out = torch.zeros(c, r, r)
    for k in range(c):
        f = torch.rand(4, generator=g) * 4 + 0.5
        out[k] = torch.sin(f[0] * 3 * xx + f[1]) * torch.cos(f[2] * 3 * yy + f[3]) + 0.3 * (xx > 0.5 + 0.1 * k)
    return out


class Holder(nn.Module):
    def __init__(self, plane: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(plane.clone())


class GridField(nn.Module):
    """Planes named as the grid field names them (``field.planes.<k>.weight``) plus an MLP head."""

    def __init__(self, c: int = 4, r: int = 32) -> None:
        super().__init__()
        self.field = nn.Module()
        self.field.planes = nn.ModuleList([Holder(_smooth(c, r, k)) for k in range(2)])
        self.head = nn.Sequential(nn.Linear(c, 16), nn.ReLU(), nn.Linear(16, 3))


class PlaneList(nn.Module):
    """The generic form: a top-level ``planes`` ParameterList of [C, R, R] tensors."""

    def __init__(self, planes: list[torch.Tensor]) -> None:
        super().__init__()
        self.planes = nn.ParameterList(nn.Parameter(p.clone()) for p in planes)
        self.head = nn.Linear(planes[0].shape[0], 8)

    def forward(self) -> list[torch.Tensor]:
        return list(self.planes)


def _decoders(model: nn.Module) -> dict[str, tuple[str, str]]:
    return {d.name: (d.decoder, d.prior_key) for _, _, d in latent_decoders(model)}


def test_default_rule_turns_planes_into_block_dct_and_keeps_linear_affine() -> None:
    torch.manual_seed(0)
    m = reparameterize(GridField(), {"prior_fit_steps": 0})
    assert _decoders(m) == {"field.planes.0.weight": ("block_dct", "field.planes.0.weight"),
                            "field.planes.1.weight": ("block_dct", "field.planes.1.weight"),
                            "head.0.weight": ("affine", "head.0.weight")}     # head.2 (16x3) < min_numel
    p = PlaneList([_smooth(4, 24, 0)])
    reparameterize(p, {"prior_fit_steps": 0})
    dec = next(d for _, _, d in latent_decoders(p) if d.name == "planes.0")
    assert dec.decoder == "block_dct" and tuple(dec.log_step.shape) == (8, 8) and dec.offset.numel() == 4
    assert len(p.forward()) == 1 and p.planes[0].shape == (4, 24, 24)


def test_rules_float_shared_group_block_and_order() -> None:
    cfg = {"prior_fit_steps": 0, "min_numel": 16,
           "tensors": [{"match": "head.*", "decoder": "float"},
                       {"match": "*.planes.*", "group": "planes", "block": [4, 8], "per_channel": False}]}
    m = reparameterize(GridField(r=20), cfg)
    decs = {d.name: d for _, _, d in latent_decoders(m)}
    assert sorted(decs) == ["field.planes.0.weight", "field.planes.1.weight"]     # head kept float by rule
    assert {d.prior_key for d in decs.values()} == {"planes"}
    assert decs["field.planes.0.weight"].prior is decs["field.planes.1.weight"].prior
    assert tuple(decs["field.planes.0.weight"].log_step.shape) == (4, 5)            # 20 -> largest divisor <= 8
    assert decs["field.planes.0.weight"].offset.numel() == 1
    m2 = reparameterize(GridField(), {"prior_fit_steps": 0, "tensors": [{"match": "*.weight", "decoder": "affine"}]})
    assert {v[0] for v in _decoders(m2).values()} == {"affine"} and len(_decoders(m2)) == 3


@pytest.mark.parametrize("rules, match", [
    ("planes", "expected a list"), ([{"decoder": "affine"}], "match"), ([{"match": "a", "decoder": "jpeg"}], "decoder"),
    ([{"match": "a", "block": [9, 8]}], "block"), ([{"match": "a", "colour": 1}], "unknown key"),
    ([{"match": "a", "per_channel": "yes"}], "per_channel"), ([{"match": "a", "group": ""}], "group")])
def test_rule_config_errors_name_the_key(rules, match) -> None:
    with pytest.raises(ConfigError, match=match):
        ReparamConfig.from_dict({"tensors": rules})


def test_unsuitable_rule_is_an_input_error() -> None:
    with pytest.raises(InputError, match="dct needs"):
        reparameterize(GridField(), {"prior_fit_steps": 0, "tensors": [{"match": "*.planes.*", "decoder": "dct"}]})


def _fit(model: nn.Module, target: list[torch.Tensor], steps: int, lam: float, rate) -> list[float]:
    groups = param_groups(model)
    opt = torch.optim.Adam([{"params": groups["latent"], "lr": 2.0}, {"params": groups["decoder"], "lr": 1e-2},
                            {"params": groups["offset"], "lr": 1e-3}, {"params": groups["prior"], "lr": 1e-2}])
    n = sum(t.numel() for t in target)
    history = []
    model.train()
    for _ in range(steps):
        mse = sum(((p - t) ** 2).sum() for p, t in zip(model.forward(), target)) / n
        bits = rate()
        loss = mse + lam * bits / n
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append((float(mse.detach()), float(bits.detach())))
    return history


def _eval_planes(model: nn.Module) -> dict[str, np.ndarray]:
    model.eval()
    with torch.no_grad():
        return {f"planes.{k}": p.numpy().copy() for k, p in enumerate(model.forward())}


def test_trained_planes_stream_rate_and_independent_decode() -> None:
    torch.manual_seed(0)
    target = [_smooth(4, 32, 7), _smooth(4, 32, 8)]
    noisy = [t + 0.2 * torch.randn(t.shape) for t in target]          # a warm start that training must clean up
    model = reparameterize(PlaneList(noisy), {"prior_fit_steps": 100})
    rate = StreamRate(model, refresh=25)
    history = _fit(model, target, 120, 2e-4, rate)
    assert history[-1][0] < 0.2 * history[0][0] and history[-1][1] < 0.8 * history[0][1]
    dec = next(d for _, _, d in latent_decoders(model))
    assert dec.log_step.grad is not None and dec.log_step.grad.abs().sum() > 0
    est = estimate_stream(model)
    latents, priors, plain = export_latents(model)
    prior_stream = encode_latent_model(latents, priors, plain, compress_header=False)  # the entropy model's tables
    assert abs(est.gap(len(prior_stream))) < 0.03              # estimate vs the coded size under those tables
    data = nwcodec.encode(model, compress_header=False)        # per group the cheaper table: never larger
    assert len(data) <= len(prior_stream)
    train_gap = (float(stream_rate_bits(model, noisy=False).detach()) / 8 - len(prior_stream)) / len(prior_stream)
    assert abs(train_gap) < 0.15 and est.training_bits == pytest.approx(float(stream_rate_bits(model, noisy=False).detach()))
    got = dict(ind.decode(data))                               # independent decoder (from FORMAT.md alone)
    for name, w in _eval_planes(model).items():
        assert np.array_equal(got[name].view(np.uint32), w.view(np.uint32))
    mse = np.mean([(got[f"planes.{k}"] - t.numpy()) ** 2 for k, t in enumerate(target)])
    assert mse < 1e-3 and 8 * len(data) / sum(t.numel() for t in target) < 8


def test_scene_pack_on_planes_shared_base_plus_residuals() -> None:
    torch.manual_seed(0)
    base_target = [_smooth(4, 32, 1), _smooth(4, 32, 2)]
    shared = reparameterize(PlaneList(base_target), {"prior_fit_steps": 100})
    _fit(shared, base_target, 60, 2e-4, lambda: stream_rate_bits(shared, side_bits=0.0))
    base = encode_shared_base(shared, kind="weights")
    bump = torch.zeros(4, 32, 32)
    bump[:, 8:16, 8:16] = 0.5
    scene_target = [base_target[0] + bump, base_target[1]]
    scene = ResidualScene(shared)
    groups = scene.parameters()
    opt = torch.optim.Adam([{"params": groups["latent"], "lr": 2.0}, {"params": groups["float"], "lr": 1e-3},
                            {"params": groups["prior"], "lr": 1e-2}])
    n = sum(t.numel() for t in scene_target)
    scene.model.train()
    first = None
    for _ in range(60):
        mse = sum(((p - t) ** 2).sum() for p, t in zip(scene.model.forward(), scene_target)) / n
        loss = mse + 1e-4 * scene.rate_bits() / n
        first = first if first is not None else float(mse)
        opt.zero_grad()
        loss.backward()
        opt.step()
    res = scene.residuals()
    assert any(np.any(r != 0) for r in res.values())
    delta = encode_shared_delta(scene, base, kind="weights")
    assert len(delta) < 0.5 * len(base)
    want = _eval_planes(scene.model)
    pkg = nwcodec.decode(delta, base=base)
    other = dict(ind.decode(delta, base=base))                 # independent decoder, base + residual
    for name, w in want.items():
        assert np.array_equal(pkg[name].view(np.uint32), w.view(np.uint32))
        assert np.array_equal(other[name].view(np.uint32), w.view(np.uint32))
    err = np.mean([(want[f"planes.{k}"] - t.numpy()) ** 2 for k, t in enumerate(scene_target)])
    assert err < 0.5 * first
    base_only = nwcodec.decode(base)
    assert not np.array_equal(base_only["planes.0"], want["planes.0"])
