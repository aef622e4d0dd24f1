"""Export a trained EPR model to the codec's hand-off types (integer latents, priors, float rest)."""
from __future__ import annotations

import numpy as np
from torch import nn

from nwcodec.codec.latent_spec import LatentTensor, PriorSpec
from nwcodec.reparam.model_reparam import latent_decoders, latent_of, priors_of
from nwcodec.reparam.priors import LIKELIHOOD_BOUND


def export_latents(model: nn.Module) -> tuple[list[LatentTensor], dict[str, PriorSpec], dict[str, np.ndarray]]:
    """Integer latents + decoder params, one float64 pmf per prior covering the latents present,
    and the remaining float tensors (biases, norms, buffers) keyed by their original names."""
    latents: list[LatentTensor] = []
    for module, tensor, dec in latent_decoders(model):
        q = dec.integer_latent(latent_of(module, tensor))
        latents.append(LatentTensor(name=dec.name, latent=q, decoder=dec.decoder,
                                    params=dec.numpy_params(), prior=dec.prior_key,
                                    shape=tuple(q.shape), dtype="float32"))
    bounds: dict[str, tuple[int, int]] = {}
    for lt in latents:
        lo, hi = int(lt.latent.min()), int(lt.latent.max())
        old = bounds.get(lt.prior, (lo, hi))
        bounds[lt.prior] = (min(lo, old[0]), max(hi, old[1]))
    priors = priors_of(model)
    specs = {key: PriorSpec(pmf=priors[key].pmf(lo, hi).cpu().numpy().astype(np.float64), lo=lo)
             for key, (lo, hi) in bounds.items()}
    plain = {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()
             if ".parametrizations." not in f".{k}"}
    return latents, specs, plain


def bits_under_priors(latents: list[LatentTensor], priors: dict[str, PriorSpec]) -> float:
    """``-sum log2 pmf[latent - lo]`` over all latents (float64), each mass floored at the training
    rate's ``LIKELIHOOD_BOUND`` (so this is what :func:`~nwcodec.reparam.rate.rate_bits` counts)."""
    total = 0.0
    for lt in latents:
        spec = priors[lt.prior]
        mass = spec.pmf[lt.latent.reshape(-1).astype(np.int64) - spec.lo]
        total += float(-np.log2(np.maximum(mass, LIKELIHOOD_BOUND)).sum())
    return total


def estimated_bits(model: nn.Module) -> float:
    """What coding the rounded latents under the model's priors should cost, in bits."""
    latents, specs, _ = export_latents(model)
    return bits_under_priors(latents, specs)
