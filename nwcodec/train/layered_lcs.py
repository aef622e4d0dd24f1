"""(a) Learning Compressible Subspaces (Nunez et al., LCS+L / LCS+P) on any torch classifier.

A **line** subspace holds two endpoints per parameter, ``w(α) = (1-α)·w0 + α·w1``; a **point** subspace one.
α sets the operating point: unstructured magnitude sparsity ``s(α) = s_max·(1-α)`` or bit width
``b(α) = round(b_min + α·(b_max-b_min))`` (step ``2·max|w|/2^b``). Each batch draws α: an endpoint with
probability 0.5 (``lcs.alpha_sampling: levels``: one of the exported levels' α instead), else uniform; a line adds ``β·cos²(w0, w1)``. Adam, its lr cosine-annealed to 0 over the run
(``lcs.lr_schedule``; ``constant`` keeps it). Export: one layered stream whose level ``k`` is the
network at ``α_k`` (sparsest / fewest bits first), refined from the level before.
"""
from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from nwcodec.codec.levels_encode import LevelSpec
from nwcodec.train.layered_common import Params, batches, chained_names, fake_quant, magnitude_mask, task_loss


class Subspace(nn.Module):
    """Endpoints of a line (or a single point) over ``model``'s parameters."""

    def __init__(self, model: nn.Module, kind: str, seed: int) -> None:
        super().__init__()
        self.kind = kind
        self.names = [n for n, _ in model.named_parameters()]
        self.w0 = nn.ParameterList([nn.Parameter(p.detach().clone()) for _, p in model.named_parameters()])
        if kind == "line":
            other = copy.deepcopy(model)
            torch.manual_seed(seed + 1)
            for m in other.modules():
                if hasattr(m, "reset_parameters") and m is not other:
                    m.reset_parameters()
            self.w1 = nn.ParameterList([nn.Parameter(p.detach().clone()) for _, p in other.named_parameters()])

    def at(self, alpha: float) -> Params:
        if self.kind == "point":
            return dict(zip(self.names, self.w0))
        return {n: (1 - alpha) * a + alpha * b for n, a, b in zip(self.names, self.w0, self.w1)}

    def cos2(self) -> torch.Tensor:
        if self.kind == "point":
            return torch.zeros(())
        a = torch.cat([p.flatten() for p in self.w0])
        b = torch.cat([p.flatten() for p in self.w1])
        return (torch.dot(a, b) / (a.norm() * b.norm() + 1e-12)) ** 2


def bits_step(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric uniform step of a ``bits``-bit quantizer over ``[-max|w|, max|w|]``."""
    return (2 * w.detach().abs().max().clamp_min(1e-12)) / (2 ** bits)


def compress(params: Params, names: list[str], cfg: dict[str, Any], alpha: float) -> Params:
    """The network at ``alpha``: sparsified or fake-quantized chained tensors, others as they are."""
    lcs = cfg["lcs"]
    out = dict(params)
    for n in names:
        if lcs["compress"] == "sparsity":
            out[n] = params[n] * magnitude_mask(params[n], max(lcs["sparsity"]) * (1 - alpha))
        else:
            b = int(round(min(lcs["bits"]) + alpha * (max(lcs["bits"]) - min(lcs["bits"]))))
            out[n] = fake_quant(params[n], bits_step(params[n], b))
    return out


def level_alphas(cfg: dict[str, Any]) -> list[float]:
    lcs = cfg["lcs"]
    if lcs["compress"] == "sparsity":
        top = max(lcs["sparsity"])
        return [1 - s / top if top else 1.0 for s in lcs["sparsity"]]
    lo, hi = min(lcs["bits"]), max(lcs["bits"])
    return [(b - lo) / (hi - lo) if hi > lo else 1.0 for b in lcs["bits"]]


def alpha_picks(cfg: dict[str, Any]) -> list[float]:
    """The α values drawn with probability 0.5: the endpoints, or every exported level's α."""
    return [0.0, 1.0] if cfg["lcs"]["alpha_sampling"] == "endpoints" else level_alphas(cfg)


def draw_alpha(rng: np.random.Generator, picks: list[float]) -> float:
    """One of ``picks`` (equally likely) with probability 0.5, else uniform on [0, 1)."""
    return float(picks[rng.integers(0, len(picks))]) if rng.random() < 0.5 else float(rng.random())


def train_lcs(model: nn.Module, train, cfg: dict[str, Any], alpha: float | None = None) -> Subspace:
    """Train the subspace (α drawn per batch, or fixed at ``alpha``: one network trained at one operating
    point, the individually trained baseline); the model's own parameters are left untouched."""
    sub = Subspace(model, cfg["lcs"]["subspace"], cfg["seed"])
    names = chained_names(model)
    buffers = dict(model.named_buffers())
    opt = torch.optim.Adam(sub.parameters(), lr=cfg["lr"])
    total = n_steps(len(train[1]), cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, (lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total) / total))) if cfg["lcs"]["lr_schedule"] == "cosine"
        else (lambda i: 1.0))
    rng = np.random.default_rng(cfg["seed"])
    picks = alpha_picks(cfg)
    for x, y in batches(train, cfg["batch_size"], cfg["epochs"], cfg["max_steps"], cfg["seed"]):
        a = draw_alpha(rng, picks) if alpha is None else alpha
        loss = task_loss(model, compress(sub.at(a), names, cfg, a), buffers, x, y)
        loss = loss + cfg["lcs"]["beta"] * sub.cos2()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return sub


def n_steps(n_examples: int, cfg: dict[str, Any]) -> int:
    """Optimizer steps :func:`train_lcs` takes (what :func:`layered_common.batches` yields)."""
    total = cfg["epochs"] * (n_examples // cfg["batch_size"])
    return max(1, min(total, cfg["max_steps"]) if cfg["max_steps"] is not None else total)


@torch.no_grad()
def state_at(model: nn.Module, sub: Subspace, alpha: float) -> dict[str, np.ndarray]:
    """Float weights of the subspace at ``alpha`` (before compression), as a numpy state dict."""
    p = sub.at(alpha)
    return {n: (p[n] if n in p else t).detach().numpy().copy() for n, t in model.state_dict().items()}


def lcs_specs(model: nn.Module, sub: Subspace, cfg: dict[str, Any]):
    """Level specs and encode options: α_k targets; sparsity levels on one fine step, bit levels halving it."""
    lcs = cfg["lcs"]
    alphas = level_alphas(cfg)
    targets = [state_at(model, sub, a) for a in alphas]
    names = chained_names(model)
    if lcs["compress"] == "sparsity":
        def specs(metrics):
            return [LevelSpec(factor=1, sparsity=s, weights=t, metrics=None if metrics is None else metrics[k])
                    for k, (s, t) in enumerate(zip(lcs["sparsity"], targets))]
        return specs, {"quality": lcs["quality"]}
    first = lcs["bits"][0]
    steps = {n: float(np.float32(2 * np.abs(targets[0][n]).max() / 2 ** first)) for n in names}

    def specs(metrics):
        out = []
        for k, (b, t) in enumerate(zip(lcs["bits"], targets)):
            f = 2 ** (b - lcs["bits"][k - 1]) if k else 1
            out.append(LevelSpec(factor=f, weights=t, metrics=None if metrics is None else metrics[k]))
        return out
    return specs, {"steps": steps}
