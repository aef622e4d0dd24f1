"""The learned-histogram prior: a proper pmf, its closed-form fit reaches the empirical entropy
(computed independently with numpy), the relaxation is the piecewise-constant density's bin mass,
gradients survive far values, and its coded tables cost what it estimates (real constriction)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nwcodec.entropy import encode_segment
from nwcodec.reparam import reparameterize
from nwcodec.reparam.histogram_prior import HistogramPrior
from nwcodec.reparam.priors import make_prior
from nwcodec.reparam.rate import rate_bits, refit_priors


def _spike_and_slab(n: int, zero_share: float, slab: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = np.rint(rng.laplace(0.0, slab, n)).astype(np.int64)
    v[rng.random(n) < zero_share] = 0
    return v


def _entropy_bits(values: np.ndarray) -> float:
    _, counts = np.unique(values, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


def test_pmf_sums_to_one_including_both_tails() -> None:
    prior = HistogramPrior(init_scale=20.0)
    w = prior.half_width
    ks = torch.arange(-40 * w, 40 * w + 1, dtype=torch.float64)
    mass = copy.deepcopy(prior).double().likelihood(ks)
    assert float(mass.sum()) == pytest.approx(1.0, abs=1e-9)
    assert float(mass[: 39 * w].sum()) > 0 and float(mass[-39 * w:].sum()) > 0   # both tails carry mass


@pytest.mark.parametrize("zero_share,slab", [(0.97, 40.0), (0.5, 3.0), (0.0, 1.5)])
def test_closed_form_fit_reaches_empirical_entropy(zero_share: float, slab: float) -> None:
    values = _spike_and_slab(60_000, zero_share, slab)
    values[:3] = [900, -2500, 300]                       # far outliers go to the geometric tails
    prior = HistogramPrior(init_scale=4 * slab)
    assert prior.fit_integers(torch.from_numpy(values).float())
    model_bits = float(prior.bits(torch.from_numpy(values).float()))
    empirical = _entropy_bits(values)
    assert empirical <= model_bits <= 1.01 * empirical + 200, (model_bits, empirical)


def test_relaxed_mass_interpolates_neighbours_exactly() -> None:
    prior = copy.deepcopy(HistogramPrior(init_scale=8.0)).double()
    prior.fit_integers(torch.from_numpy(_spike_and_slab(5000, 0.8, 2.0)).double())
    y = torch.tensor([0.25, -1.5, 3.9, -0.75, 7.0], dtype=torch.float64)
    k = torch.floor(y)
    f = y - k
    expect = (1 - f) * prior.likelihood(k) + f * prior.likelihood(k + 1)
    assert torch.allclose(prior.likelihood(y), expect, rtol=1e-12, atol=0)


def test_tails_learn_and_far_outliers_cost_about_an_escape() -> None:
    prior = HistogramPrior(init_scale=4.0)
    prior.fit_integers(torch.from_numpy(_spike_and_slab(5000, 0.95, 1.0)).float())
    w = prior.half_width
    y = torch.tensor([0.2, w + 3.3, -w - 5.6], requires_grad=True)
    prior.bits(y).backward()
    assert torch.isfinite(y.grad).all() and (prior.tail_logit.grad != 0).all()   # both tail ratios learn
    far = torch.tensor([1e6 + 0.3, -3e5 + 0.6], requires_grad=True)
    far_bits = prior.log2_likelihood(far).neg()
    far_bits.sum().backward()
    assert torch.isfinite(far.grad).all()
    bucket = -torch.log2(torch.softmax(prior.logits, 0)[-2:]).min()
    assert (far_bits < bucket + 10 + 2 * 20 + 1).all(), far_bits   # share 2^-10, ~2 log2(j) bits


@pytest.mark.parametrize("zero_share,slab", [(0.98, 30.0), (0.3, 2.0)])
def test_estimate_equals_constriction_payload(zero_share: float, slab: float) -> None:
    values = _spike_and_slab(80_000, zero_share, slab, seed=1)
    prior = HistogramPrior(init_scale=4 * slab)
    prior.fit_integers(torch.from_numpy(values).float())
    table = prior.coded_table(values)
    payload = 8 * len(encode_segment(values, table.table()))       # real ANS coding
    est = prior.payload_bits([values], table) - 8
    assert abs(payload - est) <= 0.01 * payload, (payload, est)
    # the learned pmf's table codes within 2 % of the empirical entropy (16-bit weights, smoothing)
    assert payload <= 1.02 * _entropy_bits(values) + 64


def test_histogram_prior_through_reparameterize_and_refit() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    reparameterize(net, {"prior": "histogram", "init_step": 0.2})
    bits = refit_priors(net, steps=1)                      # closed form: one call settles the tables
    latents = [p.parametrizations.weight.original.detach() for p in (net[0], net[2])]
    empirical = sum(_entropy_bits(torch.round(t).long().numpy().ravel()) for t in latents)
    assert empirical <= bits <= 1.03 * empirical + 100
    assert float(rate_bits(net, mode="round")) == pytest.approx(bits)


def test_make_prior_knows_histogram() -> None:
    assert isinstance(make_prior("histogram", init_scale=5.0), HistogramPrior)
