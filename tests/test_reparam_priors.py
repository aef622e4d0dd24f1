"""Priors: rates equal brute-force sums of -log2 of bin masses; pmfs are normalized."""
from __future__ import annotations

import math

import pytest
import torch

from nwcodec.errors import ConfigError
from nwcodec.reparam.priors import DeepFactorizedPrior, LogisticPrior, make_prior


def _perturb(prior: torch.nn.Module) -> None:
    torch.manual_seed(3)
    with torch.no_grad():
        for p in prior.parameters():
            p.add_(0.3 * torch.randn_like(p))


def test_deep_factorized_rate_matches_brute_force() -> None:
    torch.manual_seed(0)
    prior = DeepFactorizedPrior(init_scale=8.0)
    _perturb(prior)
    y = torch.randint(-12, 13, (300,)).double()
    prior64 = prior.double()
    brute = 0.0
    for v in y.tolist():  # naive CDF difference, one element at a time
        cdf = lambda t: torch.sigmoid(prior64.cdf_logits(torch.tensor([[t]], dtype=torch.float64))).item()
        brute += -math.log2(cdf(v + 0.5) - cdf(v - 0.5))
    assert prior64.bits(y).item() == pytest.approx(brute, rel=1e-9)


def test_pmfs_sum_to_one_over_a_wide_range() -> None:
    for prior in (DeepFactorizedPrior(init_scale=5.0), LogisticPrior(init_scale=5.0)):
        _perturb(prior)
        pmf = prior.pmf(-400, 400)
        assert pmf.dtype == torch.float64 and torch.all(pmf >= 0)
        assert pmf.sum().item() == pytest.approx(1.0, abs=1e-6)


def test_logistic_matches_closed_form() -> None:
    prior = LogisticPrior(init_scale=6.0)
    with torch.no_grad():
        prior.loc.fill_(0.7)
    s = math.exp(prior.log_scale.item())
    sig = lambda t: 1 / (1 + math.exp(-(t - 0.7) / s))
    expected = sum(-math.log2(sig(k + 0.5) - sig(k - 0.5)) for k in (-3, 0, 2, 9))
    assert prior.bits(torch.tensor([-3.0, 0.0, 2.0, 9.0])).item() == pytest.approx(expected, rel=1e-5)


def test_sign_trick_keeps_far_tail_finite() -> None:
    prior = LogisticPrior(init_scale=1.0)
    mass = prior.double().likelihood(torch.tensor([40.0], dtype=torch.float64))
    assert 0 < mass.item() < 1e-10  # naive 1 - 1 would give 0


def test_unknown_prior_is_config_error() -> None:
    with pytest.raises(ConfigError, match="reparam.prior"):
        make_prior("gauss", 1.0)
