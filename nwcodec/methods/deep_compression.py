"""Deep Compression (Han et al., ICLR'16): prune → retrain → k-means share → fine-tune centroids → ANS.

``deep_compression(model, train_loader, keep=..., bits=...)`` returns the ``.nwc`` bytes; the model
ends holding exactly the decoded weights. Each compressible tensor becomes a ``codebook`` tensor whose
centroid 0 is exactly 0.0 (the pruned weights), coded with ANS; biases are lossless.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from .common import apply_parts, compressible, train, weights, write_model
from .distill import frozen_copy
from .ops import codebook_with_zero, prune_mask


@dataclass
class DCConfig:
    """Per-tensor keep fractions and codebook bits (a float/int for all, or a dict by tensor name)."""

    keep: float | dict[str, float] = 0.1
    bits: int | dict[str, int] = 5
    retrain_epochs: float = 2.0
    retrain_lr: float = 1e-3
    finetune_epochs: float = 1.0
    centroid_lr: float = 1e-4
    prune_steps: int = 1                      # iterative pruning: keep^(i/steps) then retrain each time
    weight_decay: float = 0.0                 # L2 during the retraining (Han et al. retrain with L2)
    distill: float = 0.0                      # weight of the uncompressed model's soft predictions (0: plain CE)
    temperature: float = 2.0
    names: list[str] | None = None
    extra: dict = field(default_factory=dict)


def _by_name(v, name: str, default):
    return v.get(name, default) if isinstance(v, dict) else v


def deep_compression(model: nn.Module, loader, cfg: DCConfig | None = None,
                     log: Callable[[str], None] | None = None) -> bytes:
    """Run the pipeline on a trained ``model`` with a training ``loader``; returns the stream bytes."""
    cfg = cfg or DCConfig()
    names = cfg.names or compressible(model)
    params = dict(model.named_parameters())
    masks: dict[str, torch.Tensor] = {}
    kd = {"teacher": frozen_copy(model), "distill": cfg.distill, "temperature": cfg.temperature} if cfg.distill else {}
    for i in range(1, cfg.prune_steps + 1):
        w = weights(model, names)
        for n in names:
            keep = _by_name(cfg.keep, n, 0.1) ** (i / cfg.prune_steps)
            masks[n] = torch.from_numpy(prune_mask(w[n], keep)).to(params[n].device)
        _apply_masks(params, masks)
        train(model, loader, cfg.retrain_epochs / cfg.prune_steps, cfg.retrain_lr, weight_decay=cfg.weight_decay,
              after_step=lambda: _apply_masks(params, masks), log=log, **kd)
    w = weights(model, names)
    coded = {n: [codebook_with_zero(w[n], masks[n].cpu().numpy(), 2 ** _by_name(cfg.bits, n, 5))] for n in names}
    apply_parts(model, coded)
    if cfg.finetune_epochs > 0:
        _finetune_centroids(model, loader, coded, cfg, log, kd)
    apply_parts(model, coded)
    return write_model(model, coded, meta={"method": "deep_compression"})


def _apply_masks(params: dict[str, nn.Parameter], masks: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for n, m in masks.items():
            params[n].mul_(m)


def _finetune_centroids(model: nn.Module, loader, coded: dict[str, list], cfg: DCConfig,
                        log: Callable[[str], None] | None, kd: dict) -> None:
    """Shared-weight training: each centroid moves by the summed gradient of its weights (zero stays 0);
    the other parameters (biases) train normally."""
    params = dict(model.named_parameters())
    idx = {n: torch.from_numpy(p[0].q.reshape(-1)).to(params[n].device) for n, p in coded.items()}
    cents = {n: torch.nn.Parameter(torch.from_numpy(p[0].cb.values.copy()).to(params[n].device))
             for n, p in coded.items()}
    opt = torch.optim.Adam(list(cents.values()), lr=cfg.centroid_lr)
    others = [p for n, p in params.items() if n not in coded]

    def step() -> None:
        with torch.no_grad():
            for n in coded:
                g = params[n].grad
                sums = torch.zeros_like(cents[n]) if g is None else \
                    torch.zeros_like(cents[n]).scatter_add_(0, idx[n], g.reshape(-1))
                sums[0] = 0
                cents[n].grad = sums
            opt.step()
            for n in coded:
                cents[n][0] = 0
                params[n].copy_(cents[n][idx[n]].reshape(params[n].shape))
                params[n].grad = None

    train(model, loader, cfg.finetune_epochs, cfg.retrain_lr * 0.1, params=others or None,
          after_step=step, log=log, **kd)
    for n, p in coded.items():
        p[0].cb.values[:] = cents[n].detach().cpu().numpy().astype(np.float32)
