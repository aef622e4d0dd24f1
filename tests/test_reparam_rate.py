"""The grid-interpolated rate used in training matches the exact prior rate, value and gradients."""
from __future__ import annotations

import torch

from nwcodec.reparam import is_reparameterized, rate_bits, reparameterize
from nwcodec.reparam.priors import DeepFactorizedPrior
from nwcodec.reparam.rate import grid_bits
from nwcodec.train.models import LeNet300100


def test_grid_bits_match_exact_bits_and_gradients() -> None:
    torch.manual_seed(0)
    prior = DeepFactorizedPrior(init_scale=8.0)
    y = (torch.randn(20000) * 6).requires_grad_(True)
    exact = prior.bits(y)
    g_exact = torch.autograd.grad(exact, [y, *prior.parameters()])
    approx = grid_bits(prior, y, 32)
    g_approx = torch.autograd.grad(approx, [y, *prior.parameters()])
    assert abs(float(approx.detach()) / float(exact.detach()) - 1) < 1e-4
    cos = torch.nn.functional.cosine_similarity(g_approx[0], g_exact[0], dim=0)
    assert cos > 0.999
    for ga, ge in zip(g_approx[1:], g_exact[1:]):
        assert torch.allclose(ga, ge, rtol=1e-2, atol=1e-2 * float(ge.abs().max()))


def test_model_rate_grid_vs_exact_and_is_reparameterized() -> None:
    torch.manual_seed(0)
    model = LeNet300100()
    assert not is_reparameterized(model)
    reparameterize(model, {"prior_fit_steps": 20, "include_bias": True})
    assert is_reparameterized(model)
    torch.manual_seed(1)
    grid = rate_bits(model, noisy=True)
    torch.manual_seed(1)
    exact = rate_bits(model, noisy=True, grid=None)
    assert abs(float(grid.detach()) / float(exact.detach()) - 1) < 1e-4
    with torch.no_grad():
        rounded = float(rate_bits(model, noisy=False)) / float(rate_bits(model, noisy=False, grid=None))
    assert abs(rounded - 1) < 1e-6  # integer latents fall on grid points: no interpolation error
