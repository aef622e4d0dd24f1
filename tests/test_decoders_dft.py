"""The ``dft`` parameter decoder: its coefficients are the reference's rfft2d ones (known answer from
numpy.fft), its basis is orthonormal, and the torch twin trains what the receiver decodes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nwcodec.decoders import get_decoder, synthesize
from nwcodec.decoders.dft import dft_basis
from nwcodec.errors import InputError
from nwcodec.reparam import param_groups, reparameterize, strip
from nwcodec.reparam.model_reparam import latent_decoders


@pytest.mark.parametrize("spatial", [(3, 3), (5, 5), (4, 4), (2, 3), (6, 5), (1, 1), (5,), (4,)])
def test_basis_is_orthonormal_and_gives_rfft_coefficients(spatial: tuple[int, ...]) -> None:
    n = int(np.prod(spatial))
    m = dft_basis(spatial).astype(np.float64).reshape(n, n)
    assert np.abs(m @ m.T - np.eye(n)).max() < 1e-6
    w = np.random.default_rng(0).standard_normal(spatial)
    coef = (m @ w.ravel()).reshape(spatial)
    f = np.fft.rfft2(w) if len(spatial) == 2 else np.fft.rfft(w)[None, :]
    c2 = coef if len(spatial) == 2 else coef[None, :]
    kh, kw = c2.shape
    for u in range(kh):
        for v in range(kw // 2 + 1):
            selfc_col = v == 0 or 2 * v == kw
            selfc = selfc_col and (u == 0 or 2 * u == kh)
            g = np.sqrt((1.0 if selfc else 2.0) / n)
            if selfc_col and 2 * u > kh:
                continue  # stored as the imaginary part of (kh - u, v)
            assert c2[u, v] == pytest.approx(g * f[u, v].real, abs=1e-6)
            if not selfc:
                iu, iv = ((kh - u) % kh, kw - v) if not selfc_col else (kh - u, v)  # the conjugate's cell
                assert c2[iu, iv] == pytest.approx(g * f[u, v].imag, abs=1e-6)


def test_schema_is_checked() -> None:
    dec = get_decoder("dft")
    x = np.zeros((2, 3, 5, 5), np.int32)
    good = {"step": np.ones((5, 5), np.float32), "scale": np.ones(1, np.float32), "offset": np.zeros(2, np.float32)}
    assert synthesize("dft", x, good).shape == x.shape
    with pytest.raises(InputError):
        synthesize("dft", x, {**good, "step": np.ones((5, 4), np.float32)})
    with pytest.raises(InputError):
        synthesize("dft", np.zeros((2, 3, 9, 9), np.int32), {**good, "step": np.ones((9, 9), np.float32)})
    assert dec.name == "dft"


def test_torch_twin_matches_receiver_and_trains() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.Conv2d(6, 4, 3))
    ref = [m.weight.detach().clone() for m in net if isinstance(m, torch.nn.Conv2d)]
    reparameterize(net, {"conv_decoder": "dft", "min_numel": 16, "init_step": 0.05, "prior_fit_steps": 0})
    decs = [d for _, _, d in latent_decoders(net)]
    assert [d.decoder for d in decs] == ["dft", "dft"]
    net.train()
    convs = [m for m in net if isinstance(m, torch.nn.Conv2d)]
    for conv, w0 in zip(convs, ref):
        assert torch.allclose(conv.weight, w0, atol=0.05 * float(w0.std()) * 3)  # rounding error only
    train_w = [c.weight.detach().clone() for c in convs]
    net.eval()
    for conv, w in zip(convs, train_w):
        assert torch.allclose(conv.weight, w, atol=1e-5)  # torch twin ≈ the numpy decoder
    x = torch.randn(2, 1, 12, 12)
    net.train()
    net(x).square().mean().backward()
    groups = param_groups(net)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in groups["latent"] + groups["decoder"])
    net.eval()
    before = net(x)
    strip(net)
    assert torch.equal(net(x), before)  # eval weights are exactly the receiver's synthesis
