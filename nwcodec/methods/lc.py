"""LC additive combinations (Idelbayev & Carreira-Perpiñán): ``w = Δ(Θ) = Σ parts``, learned by the LC algorithm.

Per tensor a scheme (``"quant+sparse"``, ``"lowrank+sparse"``, ``"quant+lowrank+sparse"``) with its
sizes (codebook ``k``, ``rank``, sparse fraction ``frac``). L step: Adam or SGD on loss + μ/2‖w − Δ(Θ)‖²
(optionally with Lagrange multipliers); C step: :func:`nwcodec.methods.ops.additive` (each part refit
on the residual of the others); μ grows by ``mu_growth`` per LC step; :data:`REFERENCE` is the LC
reference's schedule. The result is written as ``sum`` tensors (one stream, format 1.2).
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


def _compress(arrays: dict[str, np.ndarray], schemes: dict[str, Scheme],
              previous: dict[str, list] | None = None) -> dict[str, list]:
    return {n: additive(a, s.parts, s.k, s.rank, s.frac, sparse_step=s.sparse_step,
                        init=None if previous is None else previous[n])
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


# The L-step schedule of the LC reference's LeNet-300 examples (UCMerced-ML/LC-model-compression,
# examples/lenet300): 40 LC steps of 20 epochs (40 for the first), SGD with Nesterov momentum at
# 0.09·0.98^j, μ_j = 9e-5·1.1^j, Lagrange multipliers (augmented Lagrangian). Pass as ``lc(..., **REFERENCE)``.
REFERENCE: dict = {"lc_steps": 40, "epochs_per_step": 20.0, "first_step_factor": 2.0, "mu0": 9e-5,
                   "mu_growth": 1.1, "lr": 0.09, "lr_decay": 0.98, "optimizer": "sgd", "multipliers": True}


def lc(model: nn.Module, loader, schemes: dict[str, Scheme] | Scheme | None = None, lc_steps: int = 8,
       epochs_per_step: float = 0.5, mu0: float = 1e-3, mu_growth: float = 1.5, lr: float = 1e-3,
       log: Callable[[str], None] | None = None, distill: float = 0.0, lr_decay: float = 0.7,
       first_step_factor: float = 1.0, optimizer: str = "adam", multipliers: bool = False) -> bytes:
    """The LC algorithm from a trained ``model``; returns the stream (the model ends holding Δ(Θ)).

    Step j (μ = ``mu0``·``mu_growth``^j): L step, ``epochs_per_step`` epochs (× ``first_step_factor`` for
    the first) of ``optimizer`` at ``lr``·``lr_decay``^j on loss + μ/2‖w − Δ(Θ) − λ/μ‖²; C step, Δ(Θ) from
    w − λ/μ; with ``multipliers`` λ ← λ − μ(w − Δ(Θ)) (augmented Lagrangian), else λ stays 0 (quadratic
    penalty). The first Δ(Θ) is the direct compression of the trained weights. ``distill`` > 0 adds the
    uncompressed model's soft predictions to the L step's loss."""
    kd = {"teacher": frozen_copy(model), "distill": distill} if distill else {}
    names = compressible(model)
    sch = _schemes(names, schemes)
    params = dict(model.named_parameters())
    coded = _compress(weights(model, names), sch)
    lam = {n: np.zeros(tuple(params[n].shape), np.float32) for n in names}
    mu = mu0
    for j in range(lc_steps):
        delta = {n: dense_sum(coded[n], tuple(params[n].shape)) for n in names}
        target = {n: torch.from_numpy(delta[n] + lam[n] / mu).to(params[n].device) for n in names}

        def penalty(mu: float = mu, target: dict = target) -> torch.Tensor:
            return 0.5 * mu * sum(((params[n] - target[n]) ** 2).sum() for n in names)

        epochs = epochs_per_step * (first_step_factor if j == 0 else 1.0)
        train(model, loader, epochs, lr * (lr_decay ** j), penalty=penalty, optimizer=optimizer, **kd)
        w = weights(model, names)
        coded = _compress({n: w[n] - lam[n] / mu for n in names}, sch, coded)
        if multipliers:
            for n in names:
                lam[n] -= mu * (w[n] - dense_sum(coded[n], tuple(params[n].shape)))
        if log:
            gap = sum(float(np.sum((w[n] - dense_sum(coded[n], w[n].shape)) ** 2)) for n in names)
            log(f"LC step {j}: mu={mu:.3g} ||w - delta||^2={gap:.4g}")
        mu *= mu_growth
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "lc", "fine_tuned": True})
