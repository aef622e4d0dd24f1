"""Torch side shared by the methods: which tensors to compress, training loops, writing and reading a .nwc."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..codec.load import load_into_module
from ..codec.writer import StreamWriter, dense_sum, write_within_table_work
from .distill import distill_loss

MIN_ELEMENTS = 64
OPTIMIZERS = ("adam", "sgd")


def compressible(model: nn.Module, min_elements: int = MIN_ELEMENTS) -> list[str]:
    """State-dict names of float weights with ≥ 2 dims and ≥ ``min_elements`` elements (conv, linear, embedding)."""
    names = {n for n, _ in model.named_parameters()}
    return [n for n, t in model.state_dict().items()
            if n in names and t.is_floating_point() and t.dim() >= 2 and t.numel() >= min_elements]


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def accuracy(model: nn.Module, loader: Iterable) -> float:
    """Top-1 accuracy over ``loader`` (batches ``(x, y)``)."""
    model.eval()
    dev, right, total = device_of(model), 0, 0
    for x, y in loader:
        right += int((model(x.to(dev)).argmax(1) == y.to(dev)).sum())
        total += int(y.numel())
    return right / max(total, 1)


def train(model: nn.Module, loader: Iterable, epochs: float, lr: float = 1e-3,
          penalty: Callable[[], torch.Tensor] | None = None, after_step: Callable[[], None] | None = None,
          params: list[torch.Tensor] | None = None, weight_decay: float = 0.0,
          log: Callable[[str], None] | None = None, teacher: nn.Module | None = None, distill: float = 0.0,
          temperature: float = 2.0, optimizer: str = "adam") -> None:
    """Cross-entropy (+ ``penalty()``), ``after_step`` after every update; fractional epochs allowed.
    ``optimizer``: ``"adam"`` (cosine-annealed lr) or ``"sgd"`` (Nesterov momentum 0.9, constant lr, as the
    LC reference's L step). With a ``teacher`` and ``distill`` > 0 the cross-entropy becomes
    :func:`distill.distill_loss`."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    ps = params if params is not None else model.parameters()
    opt = (torch.optim.Adam(ps, lr=lr, weight_decay=weight_decay) if optimizer == "adam" else
           torch.optim.SGD(ps, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay))
    dev = device_of(model)
    n_batches = len(loader)  # type: ignore[arg-type]
    steps = int(round(epochs * n_batches))
    done, t0 = 0, time.perf_counter()
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(steps, 1)) if optimizer == "adam" else
             torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0))
    model.train()
    while done < steps:
        for x, y in loader:
            x = x.to(dev)
            logits = model(x)
            loss = F.cross_entropy(logits, y.to(dev))
            if teacher is not None and distill > 0:
                loss = distill_loss(logits, teacher, x, loss, distill, temperature)
            if penalty is not None:
                loss = loss + penalty()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if after_step is not None:
                after_step()
            done += 1
            if done >= steps:
                break
    if log:
        log(f"trained {epochs:g} epochs in {time.perf_counter() - t0:.1f} s")


def set_weights(model: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Copy numpy arrays into the model's tensors of those names."""
    state = model.state_dict()
    with torch.no_grad():
        for k, v in arrays.items():
            state[k].copy_(torch.from_numpy(np.ascontiguousarray(v)).to(state[k].dtype))


def weights(model: nn.Module, names: list[str]) -> dict[str, np.ndarray]:
    state = model.state_dict()
    return {n: state[n].detach().float().cpu().numpy().copy() for n in names}


def write_model(model: nn.Module, coded: dict[str, list], meta: dict | None = None) -> bytes:
    """One stream: tensors in ``coded`` from their parts, every other state entry bit-exact."""
    state = model.state_dict()

    def fill(w: StreamWriter) -> None:
        for name, t in state.items():
            if name in coded:
                w.add_parts(name, tuple(t.shape), coded[name])
            else:
                w.add_array(name, t.detach().cpu().numpy())

    return write_within_table_work(fill, meta=meta)


def apply_parts(model: nn.Module, coded: dict[str, list]) -> None:
    """Set the model's tensors to what the receiver will decode from ``coded``."""
    set_weights(model, {n: dense_sum(p, tuple(model.state_dict()[n].shape)) for n, p in coded.items()})


def load_stream(model: nn.Module, data: bytes) -> nn.Module:
    """Decode ``data`` (numpy + constriction) into ``model``."""
    return load_into_module(model, data)


Loader = Any
