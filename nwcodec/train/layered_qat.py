"""(b) Rate-scalable quantization-aware training: every level of one layered stream is a good model.

Level ``k`` quantizes each weight tensor on ``step_k = step_0 / factor^k`` (``step_0`` fixed from the initial
weights at ``quality``) after leaving the ``sparsity_k`` smallest weights at zero, exactly as
:func:`nwcodec.codec.levels_encode.encode_layered` writes it. The loss sums over levels
``w_k · CE(model at level k) + λ_k · bits_k / params``, with ``bits_k = Σ log2(1 + |w| / step_k)`` a
differentiable rate proxy, so every prefix is trained, not only the last.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from nwcodec.codec.levels_encode import LevelSpec
from nwcodec.codec.encoder import allocation_rel_errors
from nwcodec.codec.quantize import rel_error_for_quality, step_sizes
from nwcodec.train.layered_common import batches, chained_names, fake_quant, magnitude_mask, task_loss


def level_steps(model: nn.Module, names: list[str], quality: float, factor: int, levels: int) -> list[dict[str, float]]:
    """Per level, the float32 step of every chained tensor (the writer's own ladder: level 0 spreads ``quality``
    over the tensors as ``nwcodec.encode`` does, the data-free size rule)."""
    chained = {n: p.detach().numpy() for n, p in model.named_parameters() if n in names}
    rels = allocation_rel_errors({n: a.size for n, a in chained.items()}, rel_error_for_quality(quality), "size")
    s = {n: np.float32(step_sizes(a, rels[n], False)[0]) for n, a in chained.items()}
    out = [dict(s)]
    for _ in range(levels - 1):
        s = {n: np.float32(v / np.float32(factor)) for n, v in s.items()}
        out.append(dict(s))
    return out


def train_qat(model: nn.Module, train, cfg: dict[str, Any]) -> tuple[list[dict[str, float]], list[float]]:
    """Train ``model`` in place; returns the step ladder and the last batch's per-level losses."""
    q = cfg["qat"]
    names = chained_names(model)
    ladder = level_steps(model, names, q["quality"], q["factor"], len(q["sparsity"]))
    weights = q["task_weight"] or [1.0] * len(ladder)
    n_params = sum(p.numel() for p in model.parameters())
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    last: list[float] = []
    for x, y in batches(train, cfg["batch_size"], cfg["epochs"], cfg["max_steps"], cfg["seed"]):
        loss, last = 0.0, []
        for k, steps in enumerate(ladder):
            qp = dict(params)
            bits = 0.0
            for n in names:
                w = params[n]
                qp[n] = fake_quant(w, float(steps[n])) * magnitude_mask(w, q["sparsity"][k])
                bits = bits + torch.log2(1 + w.abs() / float(steps[n])).sum()
            lk = weights[k] * task_loss(model, qp, buffers, x, y) + q["lam"][k] * bits / n_params
            last.append(float(lk.detach()))
            loss = loss + lk
        opt.zero_grad()
        loss.backward()
        opt.step()
    return ladder, last


def qat_specs(cfg: dict[str, Any]):
    q = cfg["qat"]

    def specs(metrics: list[dict] | None) -> list[LevelSpec]:
        return [LevelSpec(factor=q["factor"], sparsity=s, metrics=None if metrics is None else metrics[k])
                for k, s in enumerate(q["sparsity"])]
    return specs


def qat_encode_kw(ladder: list[dict[str, float]]) -> dict[str, Any]:
    return {"steps": {n: float(v) for n, v in ladder[0].items()}}


__all__ = ["level_steps", "train_qat", "qat_specs", "qat_encode_kw"]
