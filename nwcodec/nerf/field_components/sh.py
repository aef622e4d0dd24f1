"""Real spherical harmonics of unit directions, degree 0..3 ((degree + 1)^2 components)."""
from __future__ import annotations

import torch

MAX_SH_DEGREE = 3


def sh_dim(degree: int) -> int:
    """Number of components up to ``degree``."""
    return (degree + 1) ** 2


def sh_encode(d: torch.Tensor, degree: int) -> torch.Tensor:
    """``d`` ``[..., 3]`` unit directions -> ``[..., (degree + 1)^2]`` real SH basis values."""
    if not 0 <= degree <= MAX_SH_DEGREE:
        raise ValueError(f"SH degree must be in [0, {MAX_SH_DEGREE}], got {degree}")
    x, y, z = d.unbind(-1)
    out = [torch.full_like(x, 0.28209479177387814)]
    if degree >= 1:
        out += [0.4886025119029199 * y, 0.4886025119029199 * z, 0.4886025119029199 * x]
    if degree >= 2:
        xx, yy, zz = x * x, y * y, z * z
        out += [1.0925484305920792 * x * y, 1.0925484305920792 * y * z, 0.9461746957575601 * zz - 0.31539156525251999,
                1.0925484305920792 * x * z, 0.5462742152960396 * (xx - yy)]
    if degree >= 3:
        out += [0.5900435899266435 * y * (3 * xx - yy), 2.890611442640554 * x * y * z,
                0.4570457994644658 * y * (5 * zz - 1), 0.3731763325901154 * z * (5 * zz - 3),
                0.4570457994644658 * x * (5 * zz - 1), 1.445305721320277 * z * (xx - yy),
                0.5900435899266435 * x * (xx - 3 * yy)]
    return torch.stack(out, dim=-1)
