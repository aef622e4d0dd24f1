"""Shared parts of layered training: data, functional forward, quantizers, export with per-level accuracy."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from nwcodec.codec.levels_encode import LevelSpec, encode_layered
from nwcodec.codec.encoder import MIN_QUANT_ELEMENTS

Params = dict[str, torch.Tensor]


def chained_names(model: nn.Module) -> list[str]:
    """Parameters the layered writer quantizes (float, ≥ 2 dims, ≥ 64 elements), in model order."""
    return [n for n, p in model.named_parameters() if p.ndim >= 2 and p.numel() >= MIN_QUANT_ELEMENTS]


def fake_quant(w: torch.Tensor, step: torch.Tensor | float) -> torch.Tensor:
    """``round(w / step) * step`` forward, identity gradient (straight-through)."""
    return w + (torch.round(w / step) * step - w).detach()


def magnitude_mask(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """1 for the ``1 - sparsity`` largest ``|w|``, 0 for the rest (detached)."""
    n_zero = int(sparsity * w.numel())
    if n_zero <= 0:
        return torch.ones_like(w)
    thresh = w.detach().abs().flatten().kthvalue(n_zero).values
    return (w.detach().abs() > thresh).to(w.dtype)


def task_loss(model: nn.Module, params: Params, buffers: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(functional_call(model, {**params, **buffers}, (x,)), y)


@torch.no_grad()
def accuracy_of(model: nn.Module, arrays: dict[str, np.ndarray], test: tuple[torch.Tensor, torch.Tensor],
                batch: int) -> float:
    """Test accuracy of ``model`` carrying ``arrays`` (decoded numpy weights)."""
    from nwcodec.codec.load import load_into_module

    load_into_module(model, arrays)
    model.eval()
    x, y = test
    right = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(y), batch))
    return right / len(y)


def export_levels(model: nn.Module, specs: Callable[[list[dict] | None], list[LevelSpec]], test, batch: int,
                  out_dir: Path, **encode_kw: Any) -> dict[str, Any]:
    """Encode, decode every level, measure its accuracy, re-encode with the accuracies recorded."""
    from nwcodec import decode
    from nwcodec.codec.levels import parse_layered

    import copy

    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    probe = copy.deepcopy(model)
    data = encode_layered(state, specs(None), **encode_kw)
    ends = [lv.end for lv in parse_layered(data).levels]
    metrics = [{"accuracy": accuracy_of(probe, decode(data, level=k), test, batch)} for k in range(len(ends))]
    data = encode_layered(state, specs(metrics), **encode_kw)
    ends = [lv.end for lv in parse_layered(data).levels]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "model.nwc").write_bytes(data)
    summary = {"bytes": len(data), "levels": [{"level": k, "end": e, **m} for k, (e, m) in enumerate(zip(ends, metrics))]}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    return summary


def batches(train: tuple[torch.Tensor, torch.Tensor], batch: int, epochs: int, max_steps: int | None, seed: int):
    """Shuffled mini-batches for ``epochs`` epochs (at most ``max_steps``)."""
    g = torch.Generator().manual_seed(seed)
    x, y = train
    step = 0
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=g)
        for i in range(0, len(y) - batch + 1, batch):
            if max_steps is not None and step >= max_steps:
                return
            idx = order[i:i + batch]
            yield x[idx], y[idx]
            step += 1
