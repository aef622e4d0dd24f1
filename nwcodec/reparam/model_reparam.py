"""Turn any PyTorch model into an EPR model in place (and back): latents, decoders, priors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import nn
from torch.nn.utils import parametrize

from nwcodec.errors import InputError
from nwcodec.reparam.config import ReparamConfig
from nwcodec.reparam.parametrization import LatentDecoder
from nwcodec.reparam.priors import IntegerPrior, make_prior
from nwcodec.reparam.synthesis import DCT_II_BITS, synthesize
from nwcodec.reparam.transforms import make_latent_decoder

WEIGHT_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding)


def _pick_decoder(module: nn.Module, tensor: str, weight: torch.Tensor, cfg: ReparamConfig) -> str:
    spatial = tuple(weight.shape[2:])
    use_dct = (cfg.conv_decoder in ("dct", "dft") and tensor == "weight"
               and isinstance(module, (nn.Conv1d, nn.Conv2d)) and 1 <= len(spatial) <= 2
               and all(s in DCT_II_BITS for s in spatial) and weight[0, 0].numel() > 1)
    return cfg.conv_decoder if use_dct else "affine"


@dataclass(frozen=True)
class Target:
    """One tensor to reparameterize: ``module.<tensor>`` (full name ``name``) and how."""

    name: str
    module: nn.Module
    tensor: str
    decoder: str
    group: str
    per_channel: bool
    block: tuple[int, int] = (8, 8)


def _owner(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    path, _, tensor = name.rpartition(".")
    return (model.get_submodule(path) if path else model), tensor


def _group(rule_group: str, name: str) -> str:
    return name if rule_group == "tensor" else rule_group


def _targets(model: nn.Module, cfg: ReparamConfig) -> list[Target]:
    """Tensors picked by name rules (first matching rule wins; ``"float"`` keeps a tensor float),
    then the weights of Linear/Conv/Embedding modules not named by any rule, as before."""
    found: list[Target] = []
    named: set[str] = set()
    for name, p in model.named_parameters():
        rule = next((r for r in cfg.tensors if r.matches(name)), None)
        if rule is None:
            continue
        named.add(name)
        module, tensor = _owner(model, name)
        if rule.decoder == "float" or parametrize.is_parametrized(module, tensor):
            continue
        if p.numel() >= cfg.min_numel and p.is_floating_point():
            group = _group(rule.group, name) if rule.group != "tensor" or cfg.prior_groups == "tensor" else "model"
            found.append(Target(name, module, tensor, rule.decoder, group, rule.per_channel, rule.block))
    for path, module in model.named_modules():
        if not isinstance(module, WEIGHT_TYPES) or parametrize.is_parametrized(module):
            continue
        tensors = ["weight"] + (["bias"] if cfg.include_bias else [])
        for tensor in tensors:
            p = getattr(module, tensor, None)
            name = f"{path}.{tensor}" if path else tensor
            if (isinstance(p, nn.Parameter) and name not in named and p.numel() >= cfg.min_numel
                    and p.is_floating_point()):
                group = name if cfg.prior_groups == "tensor" else "model"
                found.append(Target(name, module, tensor, _pick_decoder(module, tensor, p, cfg), group,
                                    cfg.per_channel))
    return found


def latent_decoders(model: nn.Module) -> Iterator[tuple[nn.Module, str, LatentDecoder]]:
    """Yield ``(module, tensor_name, decoder)`` for every latent tensor of ``model``."""
    for module in model.modules():
        if not parametrize.is_parametrized(module):
            continue
        for tensor, plist in module.parametrizations.items():
            for p in plist:
                if isinstance(p, LatentDecoder):
                    yield module, tensor, p


def is_reparameterized(model: nn.Module) -> bool:
    """True when ``model`` holds at least one EPR latent."""
    return any(True for _ in latent_decoders(model))


def latent_of(module: nn.Module, tensor: str) -> nn.Parameter:
    """The continuous latent parameter stored for ``module.<tensor>``."""
    return module.parametrizations[tensor].original


def priors_of(model: nn.Module) -> dict[str, IntegerPrior]:
    """Group name -> prior module (priors live inside the decoders; a shared one in several)."""
    priors = {dec.prior_key: dec.prior for _, _, dec in latent_decoders(model)}
    if not priors:
        raise InputError("model is not reparameterized; call nwcodec.reparam.reparameterize first")
    return priors


def group_latents(model: nn.Module) -> dict[str, torch.Tensor]:
    """Prior group name -> the group's continuous latents, detached and flattened into one tensor."""
    groups: dict[str, list[torch.Tensor]] = {}
    for module, tensor, dec in latent_decoders(model):
        groups.setdefault(dec.prior_key, []).append(latent_of(module, tensor).detach().reshape(-1))
    return {key: torch.cat(parts) for key, parts in groups.items()}


def _fit_priors(model: nn.Module, steps: int) -> None:
    """Fit each prior to its (noisy) warm-start latents so the first rate estimate is sensible."""
    priors = priors_of(model)
    gen = torch.Generator().manual_seed(0)
    for key, latents in group_latents(model).items():
        prior = priors[key]
        if prior.fit_integers(latents):
            continue
        device = next(prior.parameters()).device
        data = latents.cpu()
        if data.numel() > 8192:
            data = data[torch.randperm(data.numel(), generator=gen)[:8192]]
        opt = torch.optim.Adam(prior.parameters(), lr=5e-2)
        for _ in range(steps):
            noise = torch.rand(data.shape, generator=gen) - 0.5
            loss = prior.bits((data + noise).to(device)) / data.numel()
            opt.zero_grad()
            loss.backward()
            opt.step()


def reparameterize(model: nn.Module, config: dict[str, Any] | ReparamConfig | None = None) -> nn.Module:
    """Reparameterize ``model`` in place and return it (same object, same forward code).

    Tensors named by ``config.tensors`` rules (default: feature planes ``*.planes.*`` -> ``"block_dct"``)
    and the weights of Linear/Conv1d/Conv2d/Embedding modules with at least ``min_numel`` elements become
    integer latents (warm-started from the current weights) decoded by ``"affine"`` (or ``"dct"``
    for conv kernels); each group of latents gets a learned prior, held by its decoders (``.prior``) so that no child
    module is added to ``model`` itself (``nn.Sequential`` forward stays the same).
    """
    cfg = config if isinstance(config, ReparamConfig) else ReparamConfig.from_dict(config)
    if is_reparameterized(model):
        raise InputError("model is already reparameterized")
    targets = _targets(model, cfg)
    if not targets:
        raise InputError("model has no tensor to reparameterize (check reparam.min_numel)")
    spans: dict[str, float] = {}
    decoders: list[LatentDecoder] = []
    for t in targets:
        weight = getattr(t.module, t.tensor)
        dec = make_latent_decoder(t.decoder, weight, t.per_channel, cfg.init_step, t.name, t.group, t.block)
        dec.to(weight.device)
        parametrize.register_parametrization(t.module, t.tensor, dec)
        span = float(latent_of(t.module, t.tensor).detach().abs().max())
        spans[t.group] = max(spans.get(t.group, 1.0), span)
        decoders.append(dec)
    priors = {group: make_prior(cfg.prior, init_scale=span) for group, span in spans.items()}
    for dec in decoders:
        dec.prior = priors[dec.prior_key].to(dec.offset.device)
    _fit_priors(model, cfg.prior_fit_steps)
    return model


def param_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Model parameters split into ``latent``, ``decoder`` (log-scales and log-steps), ``offset``
    (decoder offsets, in weight units: they need a far smaller lr), ``prior`` and ``float`` (the rest)."""
    latents = [latent_of(m, t) for m, t, _ in latent_decoders(model)]
    priors = list(nn.ModuleList(priors_of(model).values()).parameters())
    offsets = [d.offset for _, _, d in latent_decoders(model)]
    skip = {id(p) for p in priors + offsets}
    decoders = [p for _, _, d in latent_decoders(model) for p in d.parameters() if id(p) not in skip]
    taken = {id(p) for p in latents + decoders + offsets + priors}
    rest = [p for p in model.parameters() if id(p) not in taken]
    return {"latent": latents, "decoder": decoders, "offset": offsets, "prior": priors, "float": rest}


def num_model_params(model: nn.Module) -> int:
    """Number of parameters of the original model (latents + float params, no decoders/priors)."""
    groups = param_groups(model)
    return sum(p.numel() for p in groups["latent"] + groups["float"])


@torch.no_grad()
def strip(model: nn.Module) -> nn.Module:
    """Replace every latent by its eval weight (bit-exact ``synthesize``), dropping decoders and priors."""
    for module, tensor, dec in list(latent_decoders(model)):
        latent = latent_of(module, tensor)
        w = synthesize(dec.decoder, dec.integer_latent(latent), dec.numpy_params())
        parametrize.remove_parametrizations(module, tensor, leave_parametrized=False)
        getattr(module, tensor).data = torch.from_numpy(w).to(latent.device)
    return model
