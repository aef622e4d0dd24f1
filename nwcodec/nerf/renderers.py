"""Volume rendering: integrate colour and density samples along rays into pixels."""
from __future__ import annotations

from typing import Callable

import torch

from nwcodec.nerf.ray_samples import FieldOutputs, RaySamples


def sample_deltas(t: torch.Tensor, far: float) -> torch.Tensor:
    """Length of the ray segment each depth ``t`` ``[R, S]`` stands for; the last one runs to ``far``."""
    mids = 0.5 * (t[..., 1:] + t[..., :-1])
    ends = torch.cat([mids, torch.full_like(t[..., :1], far)], dim=-1)
    starts = torch.cat([2 * t[..., :1] - mids[..., :1], mids], dim=-1)
    return (ends - starts).clamp_min(0.0)


def render_weights(density: torch.Tensor, deltas: torch.Tensor) -> torch.Tensor:
    """Compositing weights ``w_i = T_i (1 - exp(-sigma_i delta_i))``, ``[R, S]``; they sum to <= 1."""
    tau = density * deltas
    alpha = 1.0 - torch.exp(-tau)
    # T_i = exp(-sum_{j<i} tau_j): exclusive cumulative sum is stable and exact in [0, 1].
    trans = torch.exp(-torch.cat([torch.zeros_like(tau[..., :1]), torch.cumsum(tau, dim=-1)[..., :-1]], dim=-1))
    return alpha * trans


def volume_render(
    rgb: torch.Tensor, density: torch.Tensor, t: torch.Tensor, ray_norm: torch.Tensor,
    far: float, background: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Composite samples: ``rgb`` ``[R,S,3]``, ``density`` ``[R,S]``, depths ``t`` ``[R,S]`` along
    directions of length ``ray_norm`` ``[R]``. Returns ``rgb [R,3]``, ``depth [R]``, ``acc [R]``,
    ``weights [R,S]``; uncovered mass shows ``background`` ``[3]`` (none: black)."""
    deltas = sample_deltas(t, far) * ray_norm[..., None]
    weights = render_weights(density, deltas)
    acc = weights.sum(dim=-1)
    color = (weights[..., None] * rgb).sum(dim=-2)
    if background is not None:
        color = color + (1.0 - acc)[..., None] * background
    depth = (weights * t).sum(dim=-1) + (1.0 - acc) * far
    return {"rgb": color, "depth": depth, "acc": acc, "weights": weights}


def render_samples(samples: RaySamples, outputs: FieldOutputs, far: float,
                   background: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Composite a field's outputs at typed samples (same keys as :func:`volume_render`)."""
    weights = render_weights(outputs.density, samples.deltas())
    acc = weights.sum(dim=-1)
    color = (weights[..., None] * outputs.rgb).sum(dim=-2)
    if background is not None:
        color = color + (1.0 - acc)[..., None] * background
    depth = (weights * samples.frustums.t).sum(dim=-1) + (1.0 - acc) * far
    return {"rgb": color, "depth": depth, "acc": acc, "weights": weights}


def render_marching(samples: RaySamples, query: Callable[[RaySamples], FieldOutputs], far: float,
                    background: torch.Tensor | None = None, group: int = 12,
                    min_transmittance: float = 1e-4) -> dict[str, torch.Tensor]:
    """Eval-time compositing with early ray termination: ``group`` samples per ray at a time, front to
    back; rays whose transmittance fell below ``min_transmittance`` are not queried further."""
    R, S = samples.shape
    dev = samples.frustums.t.device
    color, acc, depth = torch.zeros(R, 3, device=dev), torch.zeros(R, device=dev), torch.zeros(R, device=dev)
    trans = torch.ones(R, device=dev)
    active = torch.arange(R, device=dev)
    for lo in range(0, S, group):
        if active.numel() == 0:
            break
        sub = samples.select(active).slice(lo, lo + group)
        out = query(sub)
        tau = out.density * sub.deltas()
        w = render_weights(out.density, sub.deltas()) * trans[active, None]
        color.index_add_(0, active, (w[..., None] * out.rgb).sum(dim=-2))
        acc.index_add_(0, active, w.sum(dim=-1))
        depth.index_add_(0, active, (w * sub.frustums.t).sum(dim=-1))
        trans[active] = trans[active] * torch.exp(-tau.sum(dim=-1))
        active = active[trans[active] > min_transmittance]
    if background is not None:
        color = color + (1.0 - acc)[..., None] * background
    return {"rgb": color, "depth": depth + (1.0 - acc) * far, "acc": acc}
