"""Sensitivity-driven step allocation: spend bits where the model's output needs them.

High-rate model: quantizing tensor ``t`` with step ``h_t`` raises a distortion measure by
``a_t · h_t²``, and costs ``n_t · (c_t − log2 h_t)`` bits. Minimizing total bits for a target
total distortion ``D`` gives ``h_t = sqrt(D / Σ n) · sqrt(n_t / a_t)``. :func:`probe_sensitivities`
measures ``a_t`` by quantizing one tensor at a time (needs the user's model and a distortion
function, e.g. 1 − cosine of embeddings on calibration inputs); :func:`allocate_steps` turns a
distortion target into per-tensor steps for :func:`nwcodec.encode` (``steps=``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .quantize import dequantize, quantize, step_sizes

PROBE_REL_ERROR = 0.1
MAX_STEP_OVER_RMS = 4.0


def probe_sensitivities(module: Any, distortion: Callable[[Any], float], names: list[str],
                        rel_error: float = PROBE_REL_ERROR) -> dict[str, float]:
    """``a_t = Δ_t / h_t²`` where Δ_t is the distortion with only tensor ``t`` quantized at step h_t."""
    import torch

    state = module.state_dict()
    base = float(distortion(module))
    out = {}
    for name in names:
        orig = state[name].detach().clone()
        w = orig.float().cpu().numpy()
        h = step_sizes(w, rel_error, per_channel=False)
        wq = dequantize(quantize(w, h), h)
        with torch.no_grad():
            state[name].copy_(torch.from_numpy(wq).to(orig.dtype))
            d = float(distortion(module)) - base
            state[name].copy_(orig)
        out[name] = max(d, 0.0) / float(h[0]) ** 2
    return out


def allocate_steps(arrays: dict[str, np.ndarray], sensitivity: dict[str, float],
                   target: float) -> dict[str, float]:
    """Per-tensor steps whose predicted total distortion is ``target`` at the fewest bits."""
    names = [n for n in sensitivity if n in arrays]
    total_n = sum(arrays[n].size for n in names)
    c = np.sqrt(target / max(total_n, 1))
    steps = {}
    for n in names:
        w = arrays[n].astype(np.float64)
        rms = float(np.sqrt(np.mean(w * w))) or 1.0
        a = sensitivity[n]
        h = c * np.sqrt(w.size / a) if a > 0 else np.inf
        steps[n] = float(min(h, MAX_STEP_OVER_RMS * rms))
    return steps
