"""Learned priors over integers (torch): deep factorized (Ballé et al. 2018) and discretized logistic.

A prior gives the probability mass of the unit bin around ``y``:
``P(y) = CDF(y + 0.5) - CDF(y - 0.5)``. Both priors model the CDF through logits and use the
sign trick (evaluate the difference on whichever tail keeps sigmoids away from 1) for numerical
stability. Rates are in bits; ``likelihood_bound`` keeps ``-log2`` finite.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nwcodec.errors import ConfigError
from nwcodec.reparam.entropy_model import LIKELIHOOD_BOUND, EntropyModel
from nwcodec.reparam.histogram_prior import HistogramPrior

__all__ = ["LIKELIHOOD_BOUND", "IntegerPrior", "DeepFactorizedPrior", "LogisticPrior", "HistogramPrior", "make_prior"]



class IntegerPrior(EntropyModel):
    """Base class of the learned priors: an :class:`EntropyModel` (training bits, exact bits,
    coded table) whose subclasses implement ``cdf_logits(x)`` (monotone in ``x``)."""


class DeepFactorizedPrior(IntegerPrior):
    """Non-parametric density of Ballé et al. 2018 (one channel): a monotone MLP for the CDF.

    Layers ``1 -> f1 -> ... -> 1`` with softplus-constrained matrices, biases, and tanh gates
    ``x + tanh(a) * tanh(x)`` on all but the last layer. ``init_scale`` ~ the latents' range.
    """

    def __init__(self, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1.0 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(dims[i + 1], 1)))

    def cdf_logits(self, x: Tensor) -> Tensor:
        h = x.reshape(1, -1)
        for i, (m, b) in enumerate(zip(self.matrices, self.biases)):
            h = F.softplus(m) @ h + b
            if i < len(self.factors):
                h = h + torch.tanh(self.factors[i]) * torch.tanh(h)
        return h.reshape(x.shape)


class LogisticPrior(IntegerPrior):
    """Discretized logistic with learned location and log-scale."""

    def __init__(self, init_scale: float = 10.0) -> None:
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(()))
        self.log_scale = nn.Parameter(torch.tensor(math.log(max(init_scale, 1e-3) / 3.0)))

    def cdf_logits(self, x: Tensor) -> Tensor:
        return (x - self.loc) * torch.exp(-self.log_scale)


PRIORS = {"deep": DeepFactorizedPrior, "logistic": LogisticPrior, "histogram": HistogramPrior}


def make_prior(kind: str, init_scale: float) -> IntegerPrior:
    """Build a prior by name (``"deep"``, ``"logistic"`` or ``"histogram"``)."""
    if kind not in PRIORS:
        raise ConfigError(f"reparam.prior: unknown prior {kind!r} (known: {', '.join(PRIORS)})")
    return PRIORS[kind](init_scale=init_scale)
