"""Positional (Fourier feature) encoding: ``x -> [x, sin(2^k x), cos(2^k x)]_{k < L}``."""
from __future__ import annotations

import torch
from torch import nn


class PositionalEncoding(nn.Module):
    """Encode the last axis of size ``in_dim`` with ``num_freqs`` octaves (frequencies 2^0..2^(L-1))."""

    def __init__(self, in_dim: int, num_freqs: int, include_input: bool = True) -> None:
        super().__init__()
        self.in_dim, self.num_freqs, self.include_input = in_dim, num_freqs, include_input
        self.register_buffer("freqs", 2.0 ** torch.arange(num_freqs, dtype=torch.float32), persistent=False)

    @property
    def out_dim(self) -> int:
        return self.in_dim * (int(self.include_input) + 2 * self.num_freqs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        parts = [x] if self.include_input else []
        if self.num_freqs:
            scaled = (x[..., None, :] * self.freqs[:, None]).flatten(-2)  # [..., L * in_dim]
            parts += [torch.sin(scaled), torch.cos(scaled)]
        return torch.cat(parts, dim=-1)
