"""Soft parameter sharing across scenes (Bird et al.): one shared latent per weight, one residual per scene.

For every reparameterized weight tensor of a common :class:`SceneModel` architecture the pack holds
a shared continuous latent ``L`` with a shared affine parameter decoder (and, while the base is being
trained, a learned prior over ``round(L)``); each scene ``s`` holds a residual latent ``R_s`` and
uses ``W_s = affine(round(L) + round(R_s))``. Biases (and weights below ``min_numel``) stay float per
scene. Training decodes with torch and straight-through rounding; :meth:`ScenePack.numpy_weights` decodes
with the receiver's numpy :func:`~nwcodec.reparam.synthesis.synthesize`, so eval renders are bit-identical
to what a receiver rebuilds from the base and delta streams.

This module needs torch but not the entropy coder (training can run where constriction is absent).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

from nwcodec.errors import InputError
from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.model import SceneModel, num_parameters
from nwcodec.reparam.parametrization import ste_round
from nwcodec.reparam.priors import IntegerPrior, make_prior
from nwcodec.reparam.synthesis import synthesize

RESIDUAL_PRIOR_SCALE = 2.0
BASE_FLOAT_MASK = np.uint32(0xFFFF0000)  # base floats keep bfloat16 precision: their low bytes code to ~nothing


class SharedTensor(nn.Module):
    """One weight's shared latent ``L``, affine decoder (per tensor or per output channel) and prior.

    A tensor read back from a base stream is *frozen*: its latent and decoder params are exactly the
    stream's (``frozen_params``) and it has no prior (its bits were paid once, in the base).
    """

    def __init__(self, name: str, weight: Tensor, init_step: float, per_channel: bool, prior: str | None) -> None:
        super().__init__()
        self.name = name
        w = weight.detach().to(torch.float64)
        rows = w.reshape(w.shape[0] if per_channel else 1, -1)
        std = rows.std(dim=1, unbiased=False)
        std = torch.where(std > 0, std, torch.ones_like(std))
        self.offset = nn.Parameter(rows.mean(dim=1).float())
        self.log_scale = nn.Parameter(torch.log(std * init_step).float())
        latent = (w - self.offset.double()[:, None]) / torch.exp(self.log_scale.double())[:, None]
        self.latent = nn.Parameter(latent.float())
        self.frozen_params: dict[str, np.ndarray] | None = None
        span = max(1.0, float(self.latent.detach().abs().max()))
        self.prior: IntegerPrior | None = make_prior(prior, init_scale=span) if prior else None

    @classmethod
    def frozen(cls, name: str, latent: np.ndarray, params: dict[str, np.ndarray]) -> "SharedTensor":
        """A shared tensor fixed to a base stream's integer latent and exact decoder params."""
        t = cls.__new__(cls)
        nn.Module.__init__(t)
        t.name = name
        t.offset = nn.Parameter(torch.from_numpy(params["offset"].copy()), requires_grad=False)
        t.log_scale = nn.Parameter(torch.log(torch.from_numpy(params["scale"].copy())), requires_grad=False)
        t.latent = nn.Parameter(torch.from_numpy(latent.astype(np.float32)), requires_grad=False)
        t.frozen_params = {k: np.asarray(params[k], np.float32).copy() for k in ("scale", "offset")}
        t.prior = None
        return t

    def _bshape(self, ndim: int) -> tuple[int, ...]:
        return (-1,) + (1,) * (ndim - 1)

    def decode(self, q: Tensor) -> Tensor:
        """Torch decode of an integer-valued (straight-through) latent."""
        if self.frozen_params is not None:
            scale = torch.as_tensor(self.frozen_params["scale"], device=q.device)
        else:
            scale = torch.exp(self.log_scale)
        bshape = self._bshape(q.ndim)
        return q * scale.reshape(bshape) + self.offset.reshape(bshape)

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Decoder params as float32 numpy: exactly what the base stream stores."""
        if self.frozen_params is not None:
            return {k: v.copy() for k, v in self.frozen_params.items()}
        with torch.no_grad():
            return {"scale": torch.exp(self.log_scale).detach().cpu().float().numpy().copy(),
                    "offset": self.offset.detach().cpu().float().numpy().copy()}

    def integer_latent(self) -> np.ndarray:
        return torch.round(self.latent.detach()).cpu().numpy().astype(np.int32)


class SceneSlot(nn.Module):
    """One scene's own parameters: residual latents, float tensors, and its residual prior."""

    def __init__(self, shapes: list[torch.Size], floats: list[Tensor], prior: str) -> None:
        super().__init__()
        self.residuals = nn.ParameterList(nn.Parameter(torch.zeros(s)) for s in shapes)
        self.floats = nn.ParameterList(nn.Parameter(f.detach().clone()) for f in floats)
        self.prior = make_prior(prior, init_scale=RESIDUAL_PRIOR_SCALE)

    def integer_residuals(self) -> list[np.ndarray]:
        return [torch.round(r.detach()).cpu().numpy().astype(np.int32) for r in self.residuals]


class ScenePack(nn.Module):
    """Shared latents + per-scene residuals for ``len(self.scenes)`` scenes of one architecture."""

    def __init__(self, config: ModelConfig | dict, shared: list[SharedTensor], float_names: list[str],
                 prior: str = "deep", base_floats: list[np.ndarray] | None = None) -> None:
        super().__init__()
        self.model_config = config if isinstance(config, ModelConfig) else ModelConfig.from_dict(config, "model")
        self._template = [SceneModel(self.model_config)]  # a list: its own parameters are never used
        self.shared = nn.ModuleList(shared)
        self.float_names = list(float_names)
        self.prior_kind = prior
        self.scenes = nn.ModuleList()
        self._base_floats = base_floats
        names = [t.name for t in shared] + self.float_names
        own = dict(self._template[0].named_parameters())
        if sorted(names) != sorted(own):
            raise InputError("pack tensors do not match the scene model's parameters")

    @classmethod
    def create(cls, config: ModelConfig, init: SceneModel, n_scenes: int, init_step: float = 0.05,
               min_numel: int = 64, per_channel: bool = False, prior: str = "deep") -> "ScenePack":
        """A pack warm-started from ``init``'s weights (``L`` from its weights, residuals 0, floats copied)."""
        shared, floats = [], []
        for name, p in init.named_parameters():
            if name.endswith(".weight") and p.ndim == 2 and p.numel() >= min_numel:
                shared.append(SharedTensor(name, p, init_step, per_channel, prior))
            else:
                floats.append(name)
        if not shared:
            raise InputError("no weight tensor is large enough to share (check min_numel)")
        pack = cls(config, shared, floats, prior)
        params = dict(init.named_parameters())
        for _ in range(n_scenes):
            pack.add_scene([params[n] for n in floats])
        return pack

    def _apply(self, fn, recurse: bool = True):
        self.template._apply(fn, recurse)  # keep the template's buffers with the pack's device
        return super()._apply(fn, recurse)

    @property
    def template(self) -> SceneModel:
        return self._template[0]

    @property
    def frozen(self) -> bool:
        return all(t.frozen_params is not None for t in self.shared)

    def params_per_scene(self) -> int:
        return num_parameters(self.template)

    def add_scene(self, floats: list[Tensor]) -> int:
        """Append a scene (residuals 0, the given float tensors); returns its index."""
        dev = self.shared[0].latent.device
        self.scenes.append(SceneSlot([t.latent.shape for t in self.shared], floats, self.prior_kind).to(dev))
        return len(self.scenes) - 1

    def base_floats(self) -> list[np.ndarray]:
        """The base scene's float tensors: the scenes' mean, cut to bfloat16 precision (fixed once frozen)."""
        if self._base_floats is not None:
            return self._base_floats
        means = [torch.stack([s.floats[i].detach().cpu() for s in self.scenes]).mean(0).float().numpy()
                 for i in range(len(self.float_names))]
        return [(m.view(np.uint32) & BASE_FLOAT_MASK).view(np.float32) for m in means]

    def freeze(self) -> None:
        """Fix the shared part as the base stream holds it: integer latents, exact params, no priors."""
        if self.frozen:
            return
        self._base_floats = self.base_floats()
        for t in self.shared:
            t.frozen_params = t.numpy_params()
            t.latent.data = torch.round(t.latent.data)
            t.prior = None
            for p in t.parameters():
                p.requires_grad_(False)

    def train_weights(self, s: int) -> dict[str, Tensor]:
        """Scene ``s``'s parameters for training: ``affine(ste_round(L) + ste_round(R_s))`` and floats."""
        slot = self.scenes[s]
        out = {t.name: t.decode(ste_round(t.latent) + ste_round(r)) for t, r in zip(self.shared, slot.residuals)}
        out.update(zip(self.float_names, slot.floats))
        return out

    def forward(self, s: int, origins: Tensor, dirs: Tensor, generator: torch.Generator | None = None) -> dict:
        """Render rays with scene ``s`` (jittered sampling in train mode)."""
        self.template.train(self.training)
        return functional_call(self.template, self.train_weights(s), (origins, dirs), {"generator": generator})

    def numpy_weights(self, s: int | None) -> dict[str, np.ndarray]:
        """Exact receiver weights of scene ``s`` (``None``: the base "mean" scene, residuals 0)."""
        out = {}
        for i, t in enumerate(self.shared):
            q = t.integer_latent()
            if s is not None:
                q = q + self.scenes[s].integer_residuals()[i]
            out[t.name] = synthesize("affine", q, t.numpy_params())
        floats = [f.detach().cpu().float().numpy().copy() for f in self.scenes[s].floats] if s is not None \
            else [a.copy() for a in self.base_floats()]
        out.update(zip(self.float_names, floats))
        return out

    def scene_model(self, s: int | None) -> SceneModel:
        """A stand-alone eval-mode :class:`SceneModel` of scene ``s`` (``None``: the base scene)."""
        model = SceneModel(self.model_config)
        state = {k: torch.from_numpy(v) for k, v in self.numpy_weights(s).items()}
        model.load_state_dict(state)
        return model.eval()


def _grid_bits(prior: IntegerPrior, y: Tensor) -> Tensor:
    from nwcodec.reparam.rate import GRID_PER_UNIT, grid_bits

    return grid_bits(prior, y, GRID_PER_UNIT)


def _relax(x: Tensor, noisy: bool) -> Tensor:
    return x + (torch.rand_like(x) - 0.5) if noisy else torch.round(x.detach())


def shared_bits(pack: ScenePack, noisy: bool = True) -> Tensor:
    """Bits of the shared latents under their priors (0 for a frozen base)."""
    total = torch.zeros((), device=pack.shared[0].latent.device)
    for t in pack.shared:
        if t.prior is not None:
            total = total + _grid_bits(t.prior, _relax(t.latent, noisy))
    return total


def residual_bits(pack: ScenePack, s: int, noisy: bool = True) -> Tensor:
    """Bits of scene ``s``'s residuals under its residual prior."""
    slot = pack.scenes[s]
    flat = torch.cat([r.reshape(-1) for r in slot.residuals])
    return _grid_bits(slot.prior, _relax(flat, noisy))


def pack_rate_bits(pack: ScenePack, scenes: list[int] | None = None, noisy: bool = True) -> Tensor:
    """Total bits of a pack: the shared latents counted ONCE, plus every listed scene's residuals."""
    scenes = list(range(len(pack.scenes))) if scenes is None else scenes
    total = shared_bits(pack, noisy)
    for s in scenes:
        total = total + residual_bits(pack, s, noisy)
    return total


def fit_shared_priors(pack: ScenePack, steps: int, seed: int = 0) -> None:
    """Fit each shared prior to its (noisy) warm-start latent so the first rate estimate is sensible."""
    gen = torch.Generator().manual_seed(seed)
    for t in pack.shared:
        if t.prior is None or steps == 0:
            continue
        data = t.latent.detach().reshape(-1).cpu()
        if data.numel() > 8192:
            data = data[torch.randperm(data.numel(), generator=gen)[:8192]]
        opt = torch.optim.Adam(t.prior.parameters(), lr=5e-2)
        dev = t.latent.device
        for _ in range(steps):
            noisy = (data + torch.rand(data.shape, generator=gen) - 0.5).to(dev)
            loss = t.prior.bits(noisy) / data.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()
