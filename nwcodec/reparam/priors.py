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

__all__ = ["LIKELIHOOD_BOUND", "IntegerPrior", "DeepFactorizedPrior", "LogisticPrior", "HistogramPrior", "PowerLawPrior",
           "make_prior"]



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


class PowerLawPrior(IntegerPrior):
    """Fixed power-law density ``p(x) = (a/2) (|x| + a)^-2`` (tensorflow-compression's
    ``PowerLawEntropyModel``, the penalty of tensorflow/model-optimization's ``FastEPR``): nothing is
    learned, ``-log2 P`` grows like ``2 log2 |x|``, and its steep slope near zero makes the rate term
    a sparsity-promoting, heavy-tailed penalty. The stream codes the latents with the cheaper of its
    table and the empirical one, like any entropy model."""

    def __init__(self, init_scale: float = 10.0, alpha: float = 0.01) -> None:
        super().__init__()
        del init_scale                                   # scale-free: the decoder's step sets the scale
        self.log_alpha = nn.Parameter(torch.tensor(math.log(alpha)), requires_grad=False)

    def _cdf(self, x: Tensor) -> Tensor:
        a = torch.exp(self.log_alpha)
        half = a / (2.0 * (a + x.abs()))
        return torch.where(x < 0, half, 1.0 - half)

    def likelihood(self, y: Tensor) -> Tensor:
        lo, hi = self._cdf(y - 0.5), self._cdf(y + 0.5)
        a = torch.exp(self.log_alpha)
        # on either side of zero the difference of the small tail terms is exact: a/2 (1/(a+|l|) - 1/(a+|u|))
        far = 0.5 * a * (torch.abs(1.0 / (a + (y - 0.5).abs()) - 1.0 / (a + (y + 0.5).abs())))
        return torch.where((y - 0.5) * (y + 0.5) > 0, far, hi - lo)

    def fit_integers(self, values: Tensor) -> bool:
        return True                                      # fixed model: nothing to fit


PRIORS = {"deep": DeepFactorizedPrior, "logistic": LogisticPrior, "histogram": HistogramPrior,
          "powerlaw": PowerLawPrior}


def make_prior(kind: str, init_scale: float) -> IntegerPrior:
    """Build a prior by name (one of :data:`PRIORS`)."""
    if kind not in PRIORS:
        raise ConfigError(f"reparam.prior: unknown prior {kind!r} (known: {', '.join(PRIORS)})")
    return PRIORS[kind](init_scale=init_scale)
