"""Rate terms: bits of the latents under their priors, and the EPR loss."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from nwcodec.reparam.model_reparam import latent_decoders, latent_of, num_model_params, priors_of


def rate_bits(model: nn.Module, noisy: bool = True) -> Tensor:
    """Total bits of all latents: with ``noisy`` the continuous relaxation ``latent + U(-.5, .5)``
    (training), otherwise the rounded latents (differentiable only in the prior params)."""
    priors = priors_of(model)
    total = torch.zeros((), device=next(model.parameters()).device)
    for module, tensor, dec in latent_decoders(model):
        latent = latent_of(module, tensor)
        y = latent + (torch.rand_like(latent) - 0.5) if noisy else torch.round(latent.detach())
        total = total + priors[dec.prior_key].bits(y)
    return total


def epr_loss(task_loss: Tensor, model: nn.Module, lam: float, num_params: int | None = None) -> tuple[Tensor, Tensor]:
    """``task_loss + lam * bits / num_params``; returns ``(loss, bits)``."""
    bits = rate_bits(model, noisy=True)
    n = num_params if num_params is not None else num_model_params(model)
    return task_loss + lam * bits / n, bits
