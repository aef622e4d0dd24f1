"""Scene packs on any reparameterized module, grid fields included: shared latents plus per-scene residuals.

Generic counterpart of :mod:`nwcodec.scene.pack_model` (which is tied to the MLP ``SceneModel`` and
the ``affine`` decoder): it works on parameter names, so feature planes (``block_dct`` latents) and
heads (``affine``) are shared alike. The base stream (:func:`encode_shared_base`, format 1.0) holds the
shared model's latents under their learned priors and renders by itself. A scene (:class:`ResidualScene`)
is a copy of the shared model whose latents start at the base integers ``q_b`` and whose decoder params
and priors are frozen; it trains its latents (residual ``r = round(latent) - q_b`` under one learned
residual prior) and its float tensors. Its delta stream (:meth:`ResidualScene.encode`, format 1.1)
carries ``r`` (``residual`` coding) and the floats; the receiver decodes ``synthesize(d, q_b + r, p)``
(FORMAT.md 6.11), which is exactly what the scene's eval-mode module computes.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch import Tensor, nn

from nwcodec.codec import LatentTensor, PriorSpec, encode_delta, encode_latent_model
from nwcodec.errors import InputError
from nwcodec.reparam.export import export_latents
from nwcodec.reparam.model_reparam import is_reparameterized, latent_decoders, latent_of
from nwcodec.reparam.priors import make_prior
from nwcodec.reparam.rate import GRID_PER_UNIT, grid_bits

RESIDUAL_PRIOR = "residual"
RESIDUAL_PRIOR_SCALE = 2.0
TABLE_MODES = ("prior", "auto")


def encode_shared_base(model: nn.Module, *, kind: str = "scene", extra: dict | None = None) -> bytes:
    """The base stream of a trained reparameterized (shared) model; the smaller of the prior and fitted tables."""
    if not is_reparameterized(model):
        raise InputError("the shared model is not reparameterized; call nwcodec.reparam.reparameterize first")
    latents, priors, plain = export_latents(model)
    return min((encode_latent_model(latents, priors, plain, kind=kind, extra=extra, table_mode=m)
                for m in TABLE_MODES), key=len)


class ResidualScene:
    """One scene of a pack: a frozen-decoder copy of the shared model, trained through its latents."""

    def __init__(self, shared: nn.Module, prior: str = "deep") -> None:
        if not is_reparameterized(shared):
            raise InputError("the shared model is not reparameterized")
        self.model = copy.deepcopy(shared)
        self.base: dict[str, np.ndarray] = {}
        self._latents: list[tuple[str, nn.Parameter]] = []
        taken: set[int] = set()
        for module, tensor, dec in latent_decoders(self.model):
            latent = latent_of(module, tensor)
            latent.data = torch.round(latent.data)
            self.base[dec.name] = dec.integer_latent(latent)
            self._latents.append((dec.name, latent))
            for p in dec.parameters():              # decoder params and priors: the base's, frozen
                p.requires_grad_(False)
                taken.add(id(p))
        self._base_t = {n: torch.from_numpy(q.astype(np.float32)).to(p.device) for (n, p), q
                        in zip(self._latents, self.base.values())}
        taken |= {id(p) for _, p in self._latents}
        self.floats = [p for p in self.model.parameters() if id(p) not in taken and p.requires_grad]
        self.prior = make_prior(prior, init_scale=RESIDUAL_PRIOR_SCALE)

    def parameters(self) -> dict[str, list[nn.Parameter]]:
        """Trainable groups: ``latent`` (base + residual), ``float`` (the scene's own floats), ``prior``."""
        return {"latent": [p for _, p in self._latents], "float": list(self.floats),
                "prior": list(self.prior.parameters())}

    def rate_bits(self, noisy: bool = True) -> Tensor:
        """Bits of the residuals under the residual prior (``latent - q_b``, relaxed with uniform noise)."""
        parts = [(p - self._base_t[n]).reshape(-1) for n, p in self._latents]
        r = torch.cat(parts)
        y = r + (torch.rand_like(r) - 0.5) if noisy else torch.round(r.detach())
        return grid_bits(self.prior, y, GRID_PER_UNIT)

    def residuals(self) -> dict[str, np.ndarray]:
        """Integer residuals ``round(latent) - q_b`` per latent tensor (int32)."""
        return {n: (torch.round(p.detach()).cpu().numpy().astype(np.int64) - self.base[n]).astype(np.int32)
                for n, p in self._latents}

    def encode(self, base: bytes, *, kind: str = "scene", extra: dict | None = None) -> bytes:
        """The scene's delta stream on ``base`` (the bytes of :func:`encode_shared_base` of the shared model)."""
        res = self.residuals()
        lts = [LatentTensor(n, r, "", {}, RESIDUAL_PRIOR, tuple(r.shape)) for n, r in res.items()]
        lo = min(int(r.min()) for r in res.values() if r.size)
        hi = max(int(r.max()) for r in res.values() if r.size)
        priors = {RESIDUAL_PRIOR: PriorSpec(pmf=self.prior.pmf(lo, hi).numpy().astype(np.float64), lo=lo)}
        _, _, plain = export_latents(self.model)
        return min((encode_delta(lts, priors, plain, base, kind=kind, extra=extra, table_mode=m)
                    for m in TABLE_MODES), key=len)


def encode_shared_delta(scene: ResidualScene, base: bytes, *, kind: str = "scene", extra: dict | None = None) -> bytes:
    """The delta stream of ``scene`` on ``base`` (see :meth:`ResidualScene.encode`)."""
    return scene.encode(base, kind=kind, extra=extra)
