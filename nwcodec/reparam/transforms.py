"""Torch twins of the receiver's parameter decoders, and the registry that builds one per latent tensor.

``LATENT_DECODERS[name]`` builds the training-side :class:`~nwcodec.reparam.parametrization.LatentDecoder`
for the receiver decoder ``name`` (:mod:`nwcodec.decoders`). Train mode decodes with these torch ops
(equal to the numpy receiver up to float32 rounding); eval mode calls the numpy receiver itself.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from nwcodec.decoders.dct import dct_basis
from nwcodec.errors import InputError
from nwcodec.reparam.parametrization import LatentDecoder
from nwcodec.reparam.synthesis import DCT_II_BITS

MAX_BLOCK = max(DCT_II_BITS)


def block_size(n: int, block: int) -> int:
    """The largest divisor of ``n`` that is at most ``block`` (and at most 8): the writer's block rule."""
    for b in range(min(block, MAX_BLOCK, max(n, 1)), 0, -1):
        if n % b == 0:
            return b
    return 1


def _blocks(x: Tensor, bh: int, bw: int) -> Tensor:
    *lead, h, w = x.shape
    return x.reshape(*lead, h // bh, bh, w // bw, bw)


def block_idct(coef: Tensor, basis: Tensor) -> Tensor:
    """Blockwise orthonormal inverse DCT-II of ``coef`` ``[..., H, W]`` with ``basis[u, v, y, x]``."""
    bh, bw = basis.shape[:2]
    c = _blocks(coef, bh, bw)
    return torch.einsum("...iujv,uvyx->...iyjx", c, basis).reshape(coef.shape)


def block_dct(x: Tensor, basis: Tensor) -> Tensor:
    """Blockwise orthonormal forward DCT-II (the inverse of :func:`block_idct`)."""
    bh, bw = basis.shape[:2]
    c = _blocks(x, bh, bw)
    return torch.einsum("...iyjx,uvyx->...iujv", c, basis).reshape(x.shape)


class BlockDctLatent(LatentDecoder):
    """``"block_dct"``: a plane ``[..., H, W]`` as per-block DCT coefficients, one learned step per frequency.

    Scale and offset are per tensor or per channel (axis 0) as for ``"affine"``; the block is
    ``block_size(H, block) × block_size(W, block)``.
    """

    def __init__(self, weight: Tensor, per_channel: bool, init_step: float, name: str, prior_key: str,
                 block: tuple[int, int] = (8, 8)) -> None:
        if weight.ndim < 2:
            raise InputError(f"{name}: block_dct needs a tensor with at least 2 dims, got shape {list(weight.shape)}")
        super().__init__(weight, "block_dct", per_channel, init_step, name, prior_key)
        bh, bw = block_size(weight.shape[-2], block[0]), block_size(weight.shape[-1], block[1])
        self.log_step = nn.Parameter(torch.zeros(bh, bw))
        self.register_buffer("basis", torch.from_numpy(dct_basis((bh, bw))), persistent=False)

    def decode(self, q: Tensor) -> Tensor:
        bh, bw = self.log_step.shape
        coef = (_blocks(q, bh, bw) * torch.exp(self.log_step).reshape(bh, 1, bw)).reshape(q.shape)
        w = block_idct(coef, self.basis)
        bshape = self._bshape(w.ndim)
        return w * torch.exp(self.log_scale).reshape(bshape) + self.offset.reshape(bshape)

    def numpy_params(self) -> dict:
        with torch.no_grad():
            params = {"step": torch.exp(self.log_step), "scale": torch.exp(self.log_scale), "offset": self.offset}
            return {k: v.detach().cpu().float().numpy().copy() for k, v in params.items()}

    @torch.no_grad()
    def right_inverse(self, weight: Tensor) -> Tensor:
        w = weight.detach().to(torch.float64)
        bshape = self._bshape(w.ndim)
        x = (w - self.offset.double().reshape(bshape)) / torch.exp(self.log_scale.double()).reshape(bshape)
        bh, bw = self.log_step.shape
        coef = _blocks(block_dct(x, self.basis.double()), bh, bw)
        return (coef / torch.exp(self.log_step.double()).reshape(bh, 1, bw)).reshape(w.shape).to(weight.dtype)


Builder = Callable[[Tensor, bool, float, str, str, tuple[int, int]], LatentDecoder]


def _plain(decoder: str) -> Builder:
    return lambda w, per_channel, init_step, name, key, block: LatentDecoder(w, decoder, per_channel, init_step,
                                                                             name, key)


def _check_dct(w: Tensor, name: str) -> None:
    spatial = tuple(w.shape[2:])
    if not (1 <= len(spatial) <= 2 and all(s in DCT_II_BITS for s in spatial)):
        raise InputError(f"{name}: dct needs a [O, I, k] or [O, I, kh, kw] kernel with sizes 1..8, "
                         f"got shape {list(w.shape)}")


def _dct(w: Tensor, per_channel: bool, init_step: float, name: str, key: str, block: tuple[int, int]) -> LatentDecoder:
    _check_dct(w, name)
    return LatentDecoder(w, "dct", per_channel, init_step, name, key)


LATENT_DECODERS: dict[str, Builder] = {"affine": _plain("affine"), "dct": _dct, "block_dct": BlockDctLatent}


def make_latent_decoder(decoder: str, weight: Tensor, per_channel: bool, init_step: float, name: str,
                        prior_key: str, block: tuple[int, int] = (8, 8)) -> LatentDecoder:
    """The training-side decoder ``decoder`` for ``weight`` (InputError if the tensor does not suit it)."""
    if decoder not in LATENT_DECODERS:
        raise InputError(f"unknown latent decoder {decoder!r} (known: {', '.join(LATENT_DECODERS)})")
    return LATENT_DECODERS[decoder](weight, per_channel, init_step, name, prior_key, tuple(block))
