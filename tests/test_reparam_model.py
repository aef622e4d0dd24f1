"""reparameterize/export/strip on real models: structure, warm start, gradients, export contents."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nwcodec.errors import InputError
from nwcodec.reparam import estimated_bits, export_latents, param_groups, rate_bits, reparameterize, strip
from nwcodec.train.models import LeNet5Caffe, MnistCNN

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def test_same_object_same_forward_and_strip_roundtrip() -> None:
    torch.manual_seed(0)
    model = LeNet5Caffe()
    keys = set(model.state_dict())
    x = torch.rand(4, 1, 28, 28)
    ref = model(x)
    out = reparameterize(model, {"prior_fit_steps": 0})
    assert out is model and type(model).forward is LeNet5Caffe.forward
    assert len(list(model.children())) == 6  # no module added to the model itself
    model.eval()
    y = model(x)
    assert y.shape == ref.shape and torch.allclose(y, ref, atol=0.05)  # only quantization noise
    with pytest.raises(InputError):
        reparameterize(model, {})
    plain = strip(model)
    assert set(plain.state_dict()) == keys
    assert torch.equal(plain(x), y)  # stripped weights are the eval (synthesized) weights


def test_train_mode_gradients_reach_latents_decoders_and_priors() -> None:
    torch.manual_seed(0)
    model = reparameterize(LeNet5Caffe(), {"prior_fit_steps": 0, "prior": "logistic"})
    loss = model(torch.rand(2, 1, 28, 28)).square().mean() + rate_bits(model) / 1e5
    loss.backward()
    groups = param_groups(model)
    assert len(groups["latent"]) == 4 and len(groups["float"]) == 4  # weights vs biases
    for name in ("latent", "decoder", "offset", "prior"):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in groups[name]), name


def test_export_contents_and_estimated_bits() -> None:
    torch.manual_seed(0)
    model = reparameterize(LeNet5Caffe(), {"prior_fit_steps": 20})
    latents, priors, plain = export_latents(model)
    assert [lt.name for lt in latents] == ["conv1.weight", "conv2.weight", "fc1.weight", "fc2.weight"]
    assert set(plain) == {"conv1.bias", "conv2.bias", "fc1.bias", "fc2.bias"}
    for lt in latents:
        spec = priors[lt.prior]
        assert lt.latent.dtype == np.int32 and lt.shape == tuple(model.state_dict()[f"{lt.name.rsplit('.', 1)[0]}.parametrizations.weight.original"].shape)
        assert spec.pmf.dtype == np.float64 and spec.lo == lt.latent.min()
        assert len(spec.pmf) == lt.latent.max() - lt.latent.min() + 1 and 0.5 < spec.pmf.sum() <= 1 + 1e-12
        assert all(v.dtype == np.float32 for v in lt.params.values())
    est = estimated_bits(model)
    assert est == pytest.approx(float(rate_bits(model, noisy=False).detach()), rel=1e-4)


def test_estimated_bits_match_coded_size_within_one_percent() -> None:
    codec = pytest.importorskip("nwcodec.codec")
    if not hasattr(codec, "encode_latent_model"):
        pytest.skip("nwcodec.codec.encode_latent_model not available yet")
    torch.manual_seed(0)
    model = reparameterize(LeNet5Caffe(), {"prior_fit_steps": 50})
    latents, priors, plain = export_latents(model)
    coded = len(codec.encode_latent_model(latents, priors, plain))
    side = 4 * sum(a.size for a in plain.values()) + 4 * sum(p.size for lt in latents for p in lt.params.values())
    assert abs(coded - side - estimated_bits(model) / 8) < 0.01 * estimated_bits(model) / 8


def test_warm_start_keeps_pretrained_accuracy() -> None:
    if not (SHARED / "models" / "mnist_cnn.pth").is_file() or not (SHARED / "mnist.npz").is_file():
        pytest.skip("shared data absent")
    model = MnistCNN()
    model.load_state_dict(torch.load(SHARED / "models" / "mnist_cnn.pth", weights_only=True, map_location="cpu"))
    with np.load(SHARED / "mnist.npz", allow_pickle=False) as d:
        x = torch.from_numpy(d["x_test"][:2000]).float().div(255).unsqueeze(1)
        y = torch.from_numpy(d["y_test"][:2000]).long()
    model.eval()
    with torch.no_grad():
        before = (model(x).argmax(1) == y).float().mean().item()
        reparameterize(model, {"prior_fit_steps": 0})
        model.eval()
        after = (model(x).argmax(1) == y).float().mean().item()
    assert before > 0.98 and abs(after - before) <= 0.003
