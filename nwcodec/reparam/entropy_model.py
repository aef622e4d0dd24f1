"""One entropy model per latent group: training bits, exact evaluation bits, and the coded table.

In the style of CompressAI's ``EntropyBottleneck`` and tensorflow-compression's
``ContinuousBatchedEntropyModel``: a single object owns the probability model of a group of
integer latents, so the rate trained, the rate reported and the table written cannot drift apart.

* :meth:`EntropyModel.train_bits` — differentiable bits of the continuous latents, either under
  additive uniform noise (``"noisy"``, the EPR paper's relaxation) or of the straight-through
  rounded latents (``"ste"``: the forward value is the float prior's exact rate of the integers).
* :meth:`EntropyModel.coded_table` — the integer table (``nwcodec.entropy`` description) the
  writer stores: the prior's mass on a tail-mass-bounded window (at most ``max_alphabet``
  values, escapes for the rest), chosen by :func:`~nwcodec.entropy.choose.table_for_pmf`.
* :meth:`EntropyModel.eval_bits` — the exact information content of integer latents under that
  very integer table (:func:`~nwcodec.entropy.choose.coded_bits`); :meth:`payload_bits` adds
  the ANS word rounding and segment framing, i.e. the latent payload the stream will have.

Subclasses define the monotone CDF logits (:mod:`nwcodec.reparam.priors`).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import Tensor, nn

from nwcodec.codec.encoder import DEFAULT_SEGMENT
from nwcodec.entropy.choose import DEFAULT_MAX_ALPHABET, coded_bits, payload_bits, table_bits, table_for_pmf
from nwcodec.entropy.describe import TableDescription

LIKELIHOOD_BOUND = 1e-9
GRID_PER_UNIT = 32
RATE_MODES = ("noisy", "hybrid", "ste", "round")
TABLE_PAD = 8  # values of prior mass considered beyond the latents' range on each side


def bin_mass(lower: Tensor, upper: Tensor) -> Tensor:
    """``sigmoid(upper) - sigmoid(lower)`` computed on the stable side (the sign trick)."""
    sign = -torch.sign(lower + upper).detach()
    return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))


def ste_round(x: Tensor) -> Tensor:
    """Round in the forward pass, identity gradient in the backward pass."""
    return x + (torch.round(x) - x).detach()


class EntropyModel(nn.Module):
    """Probability model of one latent group (subclasses implement ``cdf_logits``, or
    ``likelihood`` and ``log2_likelihood`` directly)."""

    max_alphabet: int = DEFAULT_MAX_ALPHABET

    def cdf_logits(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    # --- float prior -------------------------------------------------------------------------
    def likelihood(self, y: Tensor) -> Tensor:
        """Mass of the unit bin centred on each element of ``y`` (any shape)."""
        flat = y.reshape(-1, 1)
        return bin_mass(self.cdf_logits(flat - 0.5), self.cdf_logits(flat + 0.5)).reshape(y.shape)

    def log2_likelihood(self, y: Tensor) -> Tensor:
        """``log2 P(y)`` elementwise, floored at ``log2(LIKELIHOOD_BOUND)`` (subclasses that work in
        the log domain override it and need no floor)."""
        return torch.log2(self.likelihood(y).clamp_min(LIKELIHOOD_BOUND))

    def bits(self, y: Tensor) -> Tensor:
        """Total ``-log2 P(y)`` over all elements (a scalar), exact (no grid)."""
        return -self.log2_likelihood(y).sum()

    def fit_integers(self, values: Tensor) -> bool:
        """Set the model to the maximum-likelihood fit of the integer ``values`` in closed form and
        return True, or return False where no closed form exists (the caller then runs Adam)."""
        return False

    @torch.no_grad()
    def pmf(self, lo: int, hi: int) -> Tensor:
        """Float64 probability mass of every integer in ``[lo, hi]`` (on the CPU)."""
        prior64 = copy.deepcopy(self).to(torch.float64)
        ks = torch.arange(lo, hi + 1, dtype=torch.float64, device=next(self.parameters()).device)
        return prior64.likelihood(ks).cpu()

    # --- training ----------------------------------------------------------------------------
    def grid_bits(self, y: Tensor, per_unit: int = GRID_PER_UNIT) -> Tensor:
        """``bits(y)`` with ``-log2 P`` tabulated on ``per_unit`` points per unit spanning ``y``
        and linearly interpolated (exact at integers): differentiable in ``y`` and the prior."""
        flat = y.reshape(-1)
        lo = math.floor(float(flat.detach().min())) - 1
        hi = math.ceil(float(flat.detach().max())) + 1
        grid = torch.arange(lo * per_unit, hi * per_unit + 1, device=y.device, dtype=y.dtype) / per_unit
        nll = -self.log2_likelihood(grid)
        pos = (flat - lo) * per_unit
        i0 = pos.detach().floor().long().clamp(0, grid.numel() - 2)
        frac = pos - i0
        return (nll[i0] * (1 - frac) + nll[i0 + 1] * frac).sum()

    def hybrid_bits(self, latent: Tensor, per_unit: int = GRID_PER_UNIT) -> Tensor:
        """Value: the float prior's bits of ``round(latent)`` (the rate that will be coded).
        Gradients: to the latents from the noisy relaxation (``latent + U``, prior held fixed),
        to the prior from the rounded latents (maximum likelihood on the integers coded)."""
        flat = latent.reshape(-1)
        lo = math.floor(float(flat.detach().min())) - 2
        hi = math.ceil(float(flat.detach().max())) + 2
        grid = torch.arange(lo * per_unit, hi * per_unit + 1, device=latent.device, dtype=latent.dtype) / per_unit
        nll = -self.log2_likelihood(grid)
        ints = (torch.round(flat.detach()).long() - lo) * per_unit
        exact = nll[ints].sum()                               # gradient: prior only
        pos = (flat + (torch.rand_like(flat) - 0.5) - lo) * per_unit
        i0 = pos.detach().floor().long().clamp(0, grid.numel() - 2)
        frac = pos - i0
        fixed = nll.detach()
        noisy = (fixed[i0] * (1 - frac) + fixed[i0 + 1] * frac).sum()   # gradient: latents only
        return exact + (noisy - noisy.detach())

    def train_bits(self, latent: Tensor, mode: str = "noisy", grid: int | None = GRID_PER_UNIT) -> Tensor:
        """Differentiable bits of ``latent``: ``"noisy"`` (``latent + U(-.5, .5)``, the paper's
        relaxation), ``"hybrid"`` (:meth:`hybrid_bits`), ``"ste"`` (straight-through rounding:
        value = the float prior's bits of the integers) or ``"round"`` (gradient to the prior only)."""
        if mode == "hybrid":
            return self.hybrid_bits(latent, grid or GRID_PER_UNIT)
        if mode == "noisy":
            y = latent + (torch.rand_like(latent) - 0.5)
        elif mode == "ste":
            y = ste_round(latent)
        elif mode == "round":
            y = torch.round(latent.detach())
        else:
            raise ValueError(f"rate mode must be one of {RATE_MODES}, got {mode!r}")
        return self.bits(y) if grid is None else self.grid_bits(y, grid)

    # --- coding ------------------------------------------------------------------------------
    def coded_table(self, values: np.ndarray) -> TableDescription:
        """The integer table this model writes for the integer ``values`` of its group."""
        v = np.asarray(values, dtype=np.int64).ravel()
        lo, hi = (int(v.min()), int(v.max())) if v.size else (0, 0)
        lo, hi = lo - TABLE_PAD, hi + TABLE_PAD
        if hi - lo + 1 > 4 * self.max_alphabet:
            mid = int(np.median(v))
            lo, hi = max(lo, mid - 2 * self.max_alphabet), min(hi, mid + 2 * self.max_alphabet)
        pmf = self.pmf(lo, hi).numpy()
        return table_for_pmf(pmf, lo, v, max_alphabet=self.max_alphabet)

    def eval_bits(self, values: np.ndarray, table: TableDescription | None = None) -> float:
        """Exact bits of the integer ``values`` under ``table`` (default: :meth:`coded_table`)."""
        return coded_bits(table if table is not None else self.coded_table(values), values)

    def payload_bits(self, arrays: list[np.ndarray], table: TableDescription,
                     segment_size: int = DEFAULT_SEGMENT) -> float:
        """Expected bits of the segment lists coding each of ``arrays`` with ``table`` (the exact
        information content plus ANS word rounding and framing, as the stream will hold)."""
        return payload_bits(table, arrays, segment_size)

    def table_cost(self, values: np.ndarray) -> tuple[TableDescription, float]:
        """``(table, table description bits + information bits)`` of coding ``values``."""
        desc = self.coded_table(values)
        return desc, table_bits(desc) + coded_bits(desc, values)
