"""Error-compensated rounding for linear layers (GPTQ, Frantar et al. 2023) onto nwcodec's grid.

Rounding a column of ``W`` (``y = W x``) leaves an error that the not-yet-rounded columns can
absorb, weighted by the input second moments ``H = Σ x xᵀ`` from calibration data. The result
lies exactly on the uniform grid ``q · step`` that :func:`nwcodec.encode` uses with the same
``steps``, so the coder and format are unchanged; only the choice of integers improves.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np


def collect_hessians(module: Any, run: Callable[[Any], None], names: list[str]) -> dict[str, np.ndarray]:
    """``H = Σ x xᵀ`` over the inputs of each ``nn.Linear`` whose weight is in ``names``."""
    import torch

    wanted = {n[: -len(".weight")]: n for n in names if n.endswith(".weight")}
    acc: dict[str, torch.Tensor] = {}
    hooks = []
    for mod_name, mod in module.named_modules():
        if isinstance(mod, torch.nn.Linear) and mod_name in wanted:
            def hook(m, inp, out, key=wanted[mod_name]):
                x = inp[0].detach().reshape(-1, inp[0].shape[-1]).double()
                acc[key] = acc.get(key, 0) + x.T @ x
            hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            run(module)
    finally:
        for h in hooks:
            h.remove()
    return {k: v.numpy() for k, v in acc.items()}


def compensate(w: np.ndarray, hessian: np.ndarray, step: float, damp: float = 0.01,
               block: int = 128) -> np.ndarray:
    """GPTQ-round ``w`` ``[out, in]`` to multiples of ``step``; returns float32 ``q * step``."""
    import torch

    W = torch.from_numpy(w.astype(np.float64)).clone()
    H = torch.from_numpy(hessian.astype(np.float64)).clone()
    dead = torch.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0
    H += damp * torch.mean(torch.diag(H)) * torch.eye(H.shape[0], dtype=H.dtype)
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(W)
    n = W.shape[1]
    for i1 in range(0, n, block):
        i2 = min(i1 + block, n)
        W1, U1 = W[:, i1:i2].clone(), U[i1:i2, i1:i2]
        E1 = torch.zeros_like(W1)
        for j in range(i2 - i1):
            q = torch.round(W1[:, j] / step) * step
            Q[:, i1 + j] = q
            err = (W1[:, j] - q) / U1[j, j]
            W1[:, j:] -= err[:, None] * U1[j, j:][None, :]
            E1[:, j] = err
        W[:, i2:] -= E1 @ U[i1:i2, i2:]
    return Q.numpy().astype(np.float32)
