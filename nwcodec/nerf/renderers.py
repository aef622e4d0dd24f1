"""Volume rendering: integrate colour and density samples along rays into pixels."""
from __future__ import annotations

import torch


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
