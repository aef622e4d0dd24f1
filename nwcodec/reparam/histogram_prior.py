"""Learned-histogram prior: one logit per integer of a window, geometric tails outside it.

Spike-and-slab latents (90–99 % zeros, a few values out to hundreds) are what the rate penalty
produces, and a smooth CDF model (:class:`~nwcodec.reparam.priors.DeepFactorizedPrior`) cannot
follow them: its mass on zero saturates and the non-zero values sink to the likelihood floor, so
the rate trained drifts from the rate coded. This model can represent any integer pmf on its
window exactly, and its maximum-likelihood fit to integers is their smoothed histogram (closed form,
:meth:`HistogramPrior.fit_integers`); so the bits trained, the bits estimated and the empirical
table the coder would pick agree.

Mass of integer ``k``: ``softmax(logits)[k + W]`` for ``|k| <= W``; beyond, the tail bucket's mass
times a law of the excess ``j = |k| - W - 1``: a geometric ``(1 - r) r^j`` with a learned ratio ``r``
per side, mixed with a small fixed share of ``1/((j+1)(j+2))`` so that a far outlier costs about what
an escape costs (``2 log2 j`` bits), not a rate the coder would never charge. A real ``y``
(the noisy relaxation) gets the mass of the unit bin around it under the piecewise-constant density
of those masses: ``(1 - f) P(k) + f P(k + 1)`` with ``k = floor(y)``, ``f = y - k``, computed in the
log domain so that no mass underflows and every latent keeps a gradient.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nwcodec.reparam.entropy_model import EntropyModel

MIN_HALF_WIDTH = 16
MAX_HALF_WIDTH = 1024
SMOOTHING = 0.02      # pseudo-count per window value in the closed-form fit
HEAVY_TAIL = 2.0 ** -10  # share of each tail on 1/((j+1)(j+2)): a far outlier costs ~2 log2(j) bits, as an escape would


class HistogramPrior(EntropyModel):
    """Learned pmf over integers: ``2W + 1`` window logits, two tail buckets, two tail ratios."""

    def __init__(self, init_scale: float = 10.0, half_width: int | None = None) -> None:
        super().__init__()
        if half_width is None:
            half_width = int(min(MAX_HALF_WIDTH, max(MIN_HALF_WIDTH, math.ceil(1.25 * init_scale) + 8)))
        if half_width < 1:
            raise ValueError(f"half_width must be >= 1, got {half_width}")
        self.half_width = int(half_width)
        w = self.half_width
        b = max(float(init_scale) / 4.0, 0.5)          # Laplace start, scale ~ a quarter of the span
        k = torch.arange(-w, w + 1, dtype=torch.float32)
        tail = -(w + 1) / b
        self.logits = nn.Parameter(torch.cat([-k.abs() / b, torch.tensor([tail, tail])]))
        ratio = math.exp(-1.0 / b)
        self.tail_logit = nn.Parameter(torch.full((2,), math.log(ratio / (1.0 - ratio))))

    def log_mass(self, k: Tensor) -> Tensor:
        """Natural log of the mass of each integer in ``k`` (a long or integral float tensor)."""
        w = self.half_width
        lp = F.log_softmax(self.logits, dim=0)
        k = k.to(lp.dtype)
        inside = lp[(k.clamp(-w, w) + w).long()]
        log_r = F.logsigmoid(self.tail_logit)                  # log r per side (left, right)
        log_1mr = F.logsigmoid(-self.tail_logit)               # log (1 - r)
        excess = (k.abs() - w - 1).clamp_min(0)
        heavy = math.log(HEAVY_TAIL) - torch.log1p(excess) - torch.log(excess + 2.0)
        light = math.log1p(-HEAVY_TAIL) + excess.unsqueeze(-1) * log_r + log_1mr     # (..., 2 sides)
        tail = torch.logaddexp(light, heavy.unsqueeze(-1))
        left = lp[2 * w + 1] + tail[..., 0]
        right = lp[2 * w + 2] + tail[..., 1]
        return torch.where(k > w, right, torch.where(k < -w, left, inside))

    def log_bin_mass(self, y: Tensor) -> Tensor:
        """Natural log of the unit-bin mass around each real ``y`` (exact at integers)."""
        k0 = torch.floor(y.detach())
        f = y - k0
        a, b = self.log_mass(k0), self.log_mass(k0 + 1)
        hi = torch.maximum(a, b)
        e = torch.exp(torch.minimum(a, b) - hi)                # in (0, 1]
        wt = torch.where(b >= a, f, 1.0 - f)                   # weight of the larger neighbour
        inner = wt + (1.0 - wt) * e
        return hi + torch.log(inner.clamp_min(torch.finfo(inner.dtype).tiny))

    def log2_likelihood(self, y: Tensor) -> Tensor:
        return self.log_bin_mass(y) / math.log(2.0)

    def likelihood(self, y: Tensor) -> Tensor:
        return torch.exp(self.log_bin_mass(y))

    def grid_bits(self, y: Tensor, per_unit: int = 32) -> Tensor:
        """Exact :meth:`bits` (a table lookup per latent costs less than a grid)."""
        return self.bits(y)

    @torch.no_grad()
    def fit_integers(self, values: Tensor) -> bool:
        """Maximum-likelihood fit to the integers ``values`` (smoothed counts on the window, tail
        bucket counts, geometric ratios from the mean tail excess)."""
        w = self.half_width
        v = torch.round(values.detach().reshape(-1).to(torch.float64))
        inside = v[(v >= -w) & (v <= w)].long() + w
        counts = torch.bincount(inside, minlength=2 * w + 1).to(torch.float64)
        tails = []
        for sel in (v < -w, v > w):
            t = v[sel]
            tails.append((float(t.numel()), float((t.abs() - w - 1).sum())))
        logits = torch.log(torch.cat([counts, torch.tensor([tails[0][0], tails[1][0]], dtype=torch.float64)])
                           + SMOOTHING)
        self.logits.copy_(logits.to(self.logits.dtype))
        for side, (count, excess) in enumerate(tails):
            mean = (excess + 1.0) / (count + 1.0)              # smoothed mean excess
            ratio = min(max(mean / (1.0 + mean), 1e-4), 1.0 - 1e-6)
            self.tail_logit[side] = math.log(ratio / (1.0 - ratio))
        return True
