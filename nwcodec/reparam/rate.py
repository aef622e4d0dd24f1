"""Rate terms: bits of the latents under their priors, and the EPR loss."""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from nwcodec.reparam.priors import LIKELIHOOD_BOUND, IntegerPrior

from nwcodec.reparam.model_reparam import latent_decoders, latent_of, num_model_params, priors_of

GRID_PER_UNIT = 32


def grid_bits(prior: IntegerPrior, y: Tensor, per_unit: int) -> Tensor:
    """``prior.bits(y)`` with ``-log2 P`` evaluated on a grid of ``per_unit`` points per unit that
    spans ``y`` and linearly interpolated: differentiable in ``y`` and the prior params, and far
    cheaper than evaluating the prior at every element of a large tensor."""
    flat = y.reshape(-1)
    lo = math.floor(float(flat.detach().min())) - 1
    hi = math.ceil(float(flat.detach().max())) + 1
    grid = torch.arange(lo * per_unit, hi * per_unit + 1, device=y.device, dtype=y.dtype) / per_unit
    nll = -torch.log2(prior.likelihood(grid).clamp_min(LIKELIHOOD_BOUND))
    pos = (flat - lo) * per_unit
    i0 = pos.detach().floor().long().clamp(0, grid.numel() - 2)
    frac = pos - i0
    return (nll[i0] * (1 - frac) + nll[i0 + 1] * frac).sum()


def rate_bits(model: nn.Module, noisy: bool = True, grid: int | None = GRID_PER_UNIT) -> Tensor:
    """Total bits of all latents: with ``noisy`` the continuous relaxation ``latent + U(-.5, .5)``
    (training), otherwise the rounded latents (differentiable only in the prior params).
    ``grid`` points per unit interpolate ``-log2 P`` (see :func:`grid_bits`); ``None``: exact."""
    priors = priors_of(model)
    total = torch.zeros((), device=next(model.parameters()).device)
    for module, tensor, dec in latent_decoders(model):
        latent = latent_of(module, tensor)
        y = latent + (torch.rand_like(latent) - 0.5) if noisy else torch.round(latent.detach())
        prior = priors[dec.prior_key]
        total = total + (prior.bits(y) if grid is None else grid_bits(prior, y, grid))
    return total


def epr_loss(task_loss: Tensor, model: nn.Module, lam: float, num_params: int | None = None) -> tuple[Tensor, Tensor]:
    """``task_loss + lam * bits / num_params``; returns ``(loss, bits)``."""
    bits = rate_bits(model, noisy=True)
    n = num_params if num_params is not None else num_model_params(model)
    return task_loss + lam * bits / n, bits
