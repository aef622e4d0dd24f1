"""Sample depths along rays: stratified (coarse), importance sampling from weights (fine), and
box-clipped samples as :class:`~nwcodec.nerf.ray_samples.RaySamples`."""
from __future__ import annotations

import torch

from nwcodec.nerf.ray_samples import Frustums, RaySamples


def _uniform(shape: tuple[int, ...], device: torch.device | str, generator: torch.Generator | None) -> torch.Tensor:
    """U[0,1) draws made on the generator's device (so a CPU generator drives any device)."""
    source = generator.device if generator is not None else device
    return torch.rand(shape, device=source, generator=generator).to(device)


def stratified_samples(
    n_rays: int, n_samples: int, near: float, far: float, perturb: bool,
    device: torch.device | str = "cpu", generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Depths ``[n_rays, n_samples]``, one per equal bin of [near, far]: bin centres, or jittered if ``perturb``."""
    edges = torch.linspace(near, far, n_samples + 1, device=device)
    lower, upper = edges[:-1], edges[1:]
    if perturb:
        u = _uniform((n_rays, n_samples), device, generator)
    else:
        u = torch.full((n_rays, n_samples), 0.5, device=device)
    return lower + (upper - lower) * u


def sample_pdf(
    bins: torch.Tensor, weights: torch.Tensor, n_samples: int, deterministic: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inverse-CDF samples ``[R, n_samples]`` from the piecewise-constant pdf ``weights`` ``[R, B]`` on ``bins`` ``[R, B+1]``."""
    weights = weights + 1e-5  # keeps the pdf defined where all weights vanish
    pdf = weights / weights.sum(dim=-1, keepdim=True)
    cdf = torch.cumsum(pdf, dim=-1)
    cdf = torch.cat([torch.zeros_like(cdf[..., :1]), cdf], dim=-1).contiguous()  # [R, B+1]
    shape = (*cdf.shape[:-1], n_samples)
    if deterministic:
        u = torch.linspace(0.0, 1.0, n_samples + 2, device=bins.device)[1:-1].expand(shape)
    else:
        u = _uniform(shape, bins.device, generator)
    u = u.contiguous()
    idx = torch.searchsorted(cdf, u, right=True)
    below = (idx - 1).clamp(0, cdf.shape[-1] - 1)
    above = idx.clamp(0, cdf.shape[-1] - 1)
    cdf_lo, cdf_hi = torch.gather(cdf, -1, below), torch.gather(cdf, -1, above)
    bin_lo, bin_hi = torch.gather(bins, -1, below), torch.gather(bins, -1, above)
    denom = torch.where(cdf_hi - cdf_lo < 1e-5, torch.ones_like(cdf_hi), cdf_hi - cdf_lo)
    return bin_lo + (u - cdf_lo) / denom * (bin_hi - bin_lo)


def hierarchical_samples(
    t_coarse: torch.Tensor, weights: torch.Tensor, n_fine: int, perturb: bool,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Fine depths drawn from the coarse weights, merged and sorted with the coarse ones: ``[R, Nc + n_fine]``."""
    mids = 0.5 * (t_coarse[..., 1:] + t_coarse[..., :-1])
    t_new = sample_pdf(mids, weights[..., 1:-1].detach(), n_fine, deterministic=not perturb, generator=generator)
    return torch.sort(torch.cat([t_coarse, t_new.detach()], dim=-1), dim=-1).values


def samples_at_depths(origins: torch.Tensor, dirs: torch.Tensor, t: torch.Tensor, far: float) -> RaySamples:
    """:class:`RaySamples` at depths ``t`` ``[R, S]``; each stands for the segment between the midpoints
    to its neighbours (the first mirrored, the last running to ``far``)."""
    mids = 0.5 * (t[..., 1:] + t[..., :-1])
    ends = torch.cat([mids, torch.full_like(t[..., :1], far)], dim=-1)
    starts = torch.cat([2 * t[..., :1] - mids[..., :1], mids], dim=-1)
    return RaySamples(Frustums(origins, dirs, starts, ends, t))


def aabb_intersect(origins: torch.Tensor, dirs: torch.Tensor, aabb: torch.Tensor,
                   near: float, far: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-ray ``(t_near, t_far)`` ``[R]`` of the box ``aabb`` ``[6]`` within ``[near, far]``; a miss has
    ``t_near >= t_far``."""
    safe = torch.where(dirs.abs() < 1e-9, torch.full_like(dirs, 1e-9), dirs)
    t0, t1 = (aabb[:3] - origins) / safe, (aabb[3:] - origins) / safe
    lo = torch.minimum(t0, t1).amax(dim=-1).clamp_min(near)
    hi = torch.maximum(t0, t1).amin(dim=-1).clamp_max(far)
    return lo, hi


def box_samples(origins: torch.Tensor, dirs: torch.Tensor, aabb: torch.Tensor, near: float, far: float,
                n_samples: int, perturb: bool, generator: torch.Generator | None = None) -> RaySamples:
    """``n_samples`` equal bins per ray over its stretch inside the box (jittered if ``perturb``, else
    bin centres); rays that miss the box get no valid samples."""
    lo, hi = aabb_intersect(origins, dirs, aabb, near, far)
    hit = hi > lo
    hi = torch.where(hit, hi, lo + 1e-4)
    u = torch.linspace(0.0, 1.0, n_samples + 1, device=origins.device)
    edges = lo[:, None] + (hi - lo)[:, None] * u  # [R, S + 1]
    starts, ends = edges[:, :-1], edges[:, 1:]
    if perturb:
        jitter = _uniform((origins.shape[0], n_samples), origins.device, generator)
    else:
        jitter = torch.full_like(starts, 0.5)
    t = starts + (ends - starts) * jitter
    valid = hit[:, None].expand(-1, n_samples)
    return RaySamples(Frustums(origins, dirs, starts, ends, t), valid)
