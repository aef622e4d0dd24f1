"""LC additive combinations (Idelbayev & Carreira-Perpiñán): ``w = Δ(Θ) = Σ parts``, learned by the LC algorithm.

Per tensor a scheme (``"quant+sparse"``, ``"lowrank+sparse"``, ``"quant+lowrank+sparse"``) with its
sizes (codebook ``k``, ``rank``, sparse fraction ``frac``). L step: Adam on loss + μ/2‖w − Δ(Θ)‖²;
C step: :func:`nwcodec.methods.ops.additive` (each part refit on the residual of the others); μ grows
by ``mu_growth`` per LC step. The result is written as ``sum`` tensors (one stream, format 1.2).
:func:`lc_post_training` is the data-free variant: one C step on the pretrained weights.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .common import apply_parts, compressible, train, weights, write_model
from .distill import frozen_copy
from .ops import additive, dense_sum


@dataclass
class Scheme:
    """One tensor's additive combination."""

    parts: str = "quant+sparse"
    k: int = 2
    rank: int = 4
    frac: float = 0.01
    sparse_step: float | None = None


def _compress(arrays: dict[str, np.ndarray], schemes: dict[str, Scheme]) -> dict[str, list]:
    return {n: additive(a, s.parts, s.k, s.rank, s.frac, sparse_step=s.sparse_step)
            for n, a in arrays.items() for s in [schemes[n]]}


def lc_post_training(model: nn.Module, schemes: dict[str, Scheme] | Scheme | None = None) -> bytes:
    """One C step on the pretrained weights (no data)."""
    names = compressible(model)
    sch = _schemes(names, schemes)
    coded = _compress(weights(model, names), sch)
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "lc", "fine_tuned": False})


def _schemes(names: list[str], schemes) -> dict[str, Scheme]:
    if schemes is None or isinstance(schemes, Scheme):
        return {n: schemes or Scheme() for n in names}
    return {n: schemes.get(n, Scheme()) for n in names}


def lc(model: nn.Module, loader, schemes: dict[str, Scheme] | Scheme | None = None, lc_steps: int = 8,
       epochs_per_step: float = 0.5, mu0: float = 1e-3, mu_growth: float = 1.5, lr: float = 1e-3,
       log: Callable[[str], None] | None = None, distill: float = 0.0) -> bytes:
    """The LC algorithm from a trained ``model``; returns the stream (the model ends holding Δ(Θ)).
    ``distill`` > 0 adds the uncompressed model's soft predictions to the L step's loss."""
    kd = {"teacher": frozen_copy(model), "distill": distill} if distill else {}
    names = compressible(model)
    sch = _schemes(names, schemes)
    params = dict(model.named_parameters())
    coded = _compress(weights(model, names), sch)
    mu = mu0
    for j in range(lc_steps):
        target = {n: torch.from_numpy(dense_sum(coded[n], tuple(params[n].shape))).to(params[n].device)
                  for n in names}

        def penalty(mu: float = mu, target: dict = target) -> torch.Tensor:
            return 0.5 * mu * sum(((params[n] - target[n]) ** 2).sum() for n in names)

        train(model, loader, epochs_per_step, lr * (0.7 ** j), penalty=penalty, **kd)
        coded = _compress(weights(model, names), sch)
        if log:
            log(f"LC step {j}: mu={mu:.3g}")
        mu *= mu_growth
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "lc", "fine_tuned": True})
