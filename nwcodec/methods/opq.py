"""OPQ (Hu et al., AAAI'21): one-shot analytic pruning ratios and quantization steps, then fine-tuning.

:func:`opq_allocate` works from the pretrained weights alone: for every tensor and every candidate
(keep fraction, step) it computes the squared error and the entropy-coded rate of the pruned,
uniformly quantized tensor (one step for all channels: "unified channel-wise quantization", no
per-channel side information), and picks per tensor the candidate minimizing ``D + λ·R`` for one
common slope ``λ``, found by bisection to meet a byte budget. :func:`opq` then fine-tunes the weights
with those masks and steps fixed (straight-through rounding) and writes a ``.nwc``;
:func:`opq_post_training` is the data-free variant (allocation only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from .common import apply_parts, compressible, train, weights, write_model
from .distill import frozen_copy
from .ops import part_bytes, prune_mask, quant_dead_zone

KEEPS = (1.0, 0.7, 0.5, 0.35, 0.25, 0.18, 0.12, 0.08, 0.05, 0.03)
STEP_OVER_RMS = tuple(2.0 ** (-k / 2) for k in range(-2, 14))


@dataclass(frozen=True)
class Choice:
    keep: float
    step: float
    bits: float
    sse: float


def _entropy_bits(q: np.ndarray) -> float:
    _, c = np.unique(q, return_counts=True)
    p = c / q.size
    return float(-(c * np.log2(p)).sum()) + 16.0 * c.size   # + a rough table cost


def candidates(w: np.ndarray) -> list[Choice]:
    """Every (keep, step) point of one tensor: rate (entropy bits) and squared error."""
    w = np.asarray(w, np.float32)
    rms = float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) or 1.0
    out = []
    for keep in KEEPS:
        mask = prune_mask(w, keep)
        for r in STEP_OVER_RMS:
            step = float(np.float32(r * rms))
            q = np.where(mask, np.rint(w / np.float32(step)), 0)
            err = q.astype(np.float32) * np.float32(step) - w
            out.append(Choice(keep, step, _entropy_bits(q), float(np.sum(err.astype(np.float64) ** 2))))
    return out


def _pick(cands: dict[str, list[Choice]], lam: float, weight: dict[str, float]) -> dict[str, Choice]:
    return {n: min(c, key=lambda x: weight[n] * x.sse + lam * x.bits) for n, c in cands.items()}


def opq_allocate(arrays: dict[str, np.ndarray], target_bytes: float,
                 sensitivity: dict[str, float] | None = None) -> dict[str, Choice]:
    """Per-tensor (keep, step) at one common RD slope whose total rate is ≤ ``target_bytes``."""
    cands = {n: candidates(a) for n, a in arrays.items()}
    weight = {n: (sensitivity or {}).get(n, 1.0) for n in arrays}
    budget = 8.0 * target_bytes
    for _ in range(3):   # the entropy estimate is rough: rescale the budget by the coded bytes
        alloc = _at_budget(cands, budget, weight)
        coded = sum(part_bytes(n, arrays[n].shape, p) for n, p in parts_for(arrays, alloc).items())
        if abs(coded - target_bytes) < 0.01 * target_bytes:
            break
        budget *= target_bytes / max(coded, 1)
    return alloc


def _at_budget(cands: dict[str, list[Choice]], budget_bits: float, weight: dict[str, float]) -> dict[str, Choice]:
    lo, hi = 1e-12, 1e6
    for _ in range(60):
        lam = np.sqrt(lo * hi)
        bits = sum(c.bits for c in _pick(cands, lam, weight).values())
        lo, hi = (lam, hi) if bits > budget_bits else (lo, lam)
    return _pick(cands, hi, weight)


def parts_for(arrays: dict[str, np.ndarray], alloc: dict[str, Choice]) -> dict[str, list]:
    out = {}
    for n, a in arrays.items():
        c = alloc[n]
        out[n] = [quant_dead_zone(a, c.step, prune_mask(a, c.keep))]
    return out


def opq_post_training(model: nn.Module, target_bytes: float) -> bytes:
    """Data-free OPQ: allocation from the weights alone, no fine-tuning."""
    names = compressible(model)
    arrays = weights(model, names)
    coded = parts_for(arrays, opq_allocate(arrays, target_bytes))
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "opq", "fine_tuned": False})


def opq(model: nn.Module, loader, target_bytes: float, epochs: float = 2.0, lr: float = 1e-4,
        log: Callable[[str], None] | None = None, distill: float = 0.0) -> bytes:
    """OPQ with fine-tuning: masks and steps fixed by the allocation, weights trained through rounding
    (``distill`` > 0: towards the uncompressed model's soft predictions as well)."""
    kd = {"teacher": frozen_copy(model), "distill": distill} if distill else {}
    names = compressible(model)
    arrays = weights(model, names)
    alloc = opq_allocate(arrays, target_bytes)
    params = dict(model.named_parameters())
    masks = {n: torch.from_numpy(prune_mask(arrays[n], alloc[n].keep)).to(params[n].device) for n in names}
    latent = {n: params[n].detach().clone() for n in names}

    def project() -> None:   # keep float latents; the model holds their rounding (straight-through)
        with torch.no_grad():
            for n in names:
                latent[n] += params[n].detach() - _q(latent[n], alloc[n].step, masks[n])
                params[n].copy_(_q(latent[n], alloc[n].step, masks[n]))

    project()
    train(model, loader, epochs, lr, after_step=project, log=log, **kd)
    final = weights(model, names)
    coded = {n: [quant_dead_zone(final[n], alloc[n].step, masks[n].cpu().numpy())] for n in names}
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "opq", "fine_tuned": True})


def _q(w: torch.Tensor, step: float, mask: torch.Tensor) -> torch.Tensor:
    s = torch.tensor(step, dtype=torch.float32, device=w.device)
    return torch.round(w / s) * s * mask
