"""The latent parametrization of one weight tensor: ``weight = decoder(round(latent))``.

Registered with :mod:`torch.nn.utils.parametrize`, so the parametrized module's own forward code
is untouched. The stored parameter (``parametrizations.<name>.original``) is the continuous
latent. Train mode rounds it with a straight-through estimator and decodes with torch ops; eval
mode decodes with the numpy :func:`~nwcodec.reparam.synthesis.synthesize`, so eval weights are
bit-identical to what a receiver rebuilds (no gradient flows in eval mode).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from nwcodec.decoders.dft import dft_basis
from nwcodec.reparam.entropy_model import ste_round
from nwcodec.reparam.synthesis import dct_basis, synthesize

BASES = {"dct": dct_basis, "dft": dft_basis}  # transform decoders: the torch twin of nwcodec.decoders


class LatentDecoder(nn.Module):
    """Decoder params (log-scale, offset, log-step) of one tensor, warm-started from ``weight``.

    ``prior`` (set by :func:`~nwcodec.reparam.reparameterize`) is the tensor's group prior.
    """

    prior: nn.Module

    def __init__(self, weight: Tensor, decoder: str, per_channel: bool, init_step: float,
                 name: str, prior_key: str) -> None:
        super().__init__()
        self.decoder, self.name, self.prior_key = decoder, name, prior_key
        w = weight.detach().to(torch.float64)
        channels = w.shape[0] if per_channel and w.ndim > 1 else 1
        rows = w.reshape(channels, -1)
        mean = rows.mean(dim=1)
        std = rows.std(dim=1, unbiased=False) if rows.shape[1] > 1 else rows.abs().mean(dim=1)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self.offset = nn.Parameter(mean.float())
        self.log_scale = nn.Parameter(torch.log(std * init_step).float())
        if decoder in BASES:
            spatial = tuple(w.shape[2:])
            self.log_step = nn.Parameter(torch.zeros(spatial))
            self.register_buffer("basis", torch.from_numpy(BASES[decoder](spatial)), persistent=False)

    def _bshape(self, ndim: int) -> tuple[int, ...]:
        return (-1,) + (1,) * (ndim - 1)

    def _inverse_dct(self, coef: Tensor) -> Tensor:
        if coef.ndim == 3:
            return torch.einsum("oiu,ux->oix", coef, self.basis)
        return torch.einsum("oiuv,uvxy->oixy", coef, self.basis)

    def decode(self, q: Tensor) -> Tensor:
        """Torch decode of a (rounded) latent; differentiable in ``q`` and the decoder params."""
        if self.decoder in BASES:
            q = self._inverse_dct(q * torch.exp(self.log_step))
        bshape = self._bshape(q.ndim)
        return q * torch.exp(self.log_scale).reshape(bshape) + self.offset.reshape(bshape)

    def numpy_params(self) -> dict[str, np.ndarray]:
        """The decoder params as float32 numpy arrays (what is exported and synthesized)."""
        with torch.no_grad():
            params = {"scale": torch.exp(self.log_scale), "offset": self.offset}
            if self.decoder in BASES:
                params["step"] = torch.exp(self.log_step)
            return {k: v.detach().cpu().float().numpy().copy() for k, v in params.items()}

    @staticmethod
    def integer_latent(latent: Tensor) -> np.ndarray:
        """Rounded latent as int32 numpy."""
        return torch.round(latent.detach()).cpu().numpy().astype(np.int32)

    def forward(self, latent: Tensor) -> Tensor:
        if self.training:
            return self.decode(ste_round(latent))
        w = synthesize(self.decoder, self.integer_latent(latent), self.numpy_params())
        return torch.from_numpy(w).to(device=latent.device, dtype=latent.dtype)

    @torch.no_grad()
    def right_inverse(self, weight: Tensor) -> Tensor:
        """Continuous latent reproducing ``weight`` (up to float error) before rounding."""
        w = weight.detach().to(torch.float64)
        bshape = self._bshape(w.ndim)
        x = (w - self.offset.double().reshape(bshape)) / torch.exp(self.log_scale.double()).reshape(bshape)
        if self.decoder in BASES:
            basis = self.basis.double()
            eq = "oix,ux->oiu" if x.ndim == 3 else "oixy,uvxy->oiuv"
            x = torch.einsum(eq, x, basis) / torch.exp(self.log_step.double())
        return x.to(weight.dtype)
