"""Rate terms of a reparameterized model: every latent's bits under its group's entropy model.

The knob: ``lam`` multiplies **bits per parameter** (``bits / num_model_params``), the unit
tensorflow/model-optimization's EPR uses (``regularization_weight / model.count_params()``):
``loss = task_loss + lam * bits_per_param``. So a sweep in ``lam`` is a sweep in "nats of task
loss per bit/param", and the coded size of a model is about ``bits_per_param * n / 8`` bytes.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nwcodec.reparam.entropy_model import GRID_PER_UNIT, EntropyModel
from nwcodec.reparam.model_reparam import group_latents, latent_decoders, latent_of, num_model_params, priors_of


def grid_bits(prior: EntropyModel, y: Tensor, per_unit: int = GRID_PER_UNIT) -> Tensor:
    """``prior.grid_bits(y, per_unit)`` (kept for callers of the former free function)."""
    return prior.grid_bits(y, per_unit)


def rate_bits(model: nn.Module, noisy: bool = True, grid: int | None = GRID_PER_UNIT,
              mode: str | None = None) -> Tensor:
    """Total bits of all latents, through each group's :meth:`EntropyModel.train_bits`.

    ``mode`` is ``"noisy"``, ``"ste"`` or ``"round"``; without it ``noisy`` picks ``"noisy"``
    (training relaxation) or ``"round"`` (rounded latents, differentiable in the prior only).
    """
    mode = mode or ("noisy" if noisy else "round")
    priors = priors_of(model)
    total = None
    for module, tensor, dec in latent_decoders(model):
        bits = priors[dec.prior_key].train_bits(latent_of(module, tensor), mode, grid)
        total = bits if total is None else total + bits
    return total


def epr_loss(task_loss: Tensor, model: nn.Module, lam: float, num_params: int | None = None,
             mode: str = "noisy") -> tuple[Tensor, Tensor]:
    """``task_loss + lam * bits / num_params`` (``lam`` per bit/param); returns ``(loss, bits)``."""
    bits = rate_bits(model, mode=mode)
    n = num_params if num_params is not None else num_model_params(model)
    return task_loss + lam * bits / n, bits


def refit_priors(model: nn.Module, steps: int, lr: float = 0.05) -> float:
    """Fit every entropy model to its group's current integer latents (maximum likelihood of
    ``round(latent)``, latents untouched) for ``steps`` Adam steps, as CompressAI's
    ``EntropyBottleneck.update`` settles the tables before coding; models with a closed-form fit
    (:meth:`EntropyModel.fit_integers`) take it instead of the Adam steps. Returns the final bits."""
    ems = priors_of(model)
    closed = set() if steps <= 0 else {key for key, latents in group_latents(model).items()
                                       if ems[key].fit_integers(latents)}
    priors = [p for key, prior in ems.items() if key not in closed for p in prior.parameters() if p.requires_grad]
    if steps <= 0 or not priors:
        return float(rate_bits(model, mode="round").detach())
    opt = torch.optim.Adam(priors, lr=lr)
    for _ in range(steps):
        bits = rate_bits(model, mode="round")
        opt.zero_grad(set_to_none=True)
        bits.backward()
        opt.step()
    return float(rate_bits(model, mode="round").detach())
