"""Registry of parameter decoders (the ``"decoder"`` of a ``latent`` tensor). Torch-free.

Each built-in module defines one :class:`~nwcodec.decoders.base.ParamDecoder` and registers it
itself (``NAME = register(MyDecoder())``) when imported below. A new decoder is one new module
plus one import line here.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from ..errors import InputError, MalformedError
from .base import ParamDecoder

_REGISTRY: dict[str, ParamDecoder] = {}
DECODERS: Mapping[str, ParamDecoder] = MappingProxyType(_REGISTRY)


def register(decoder: ParamDecoder) -> ParamDecoder:
    """Add ``decoder`` under its ``name`` (a name can be registered once)."""
    if not isinstance(decoder.name, str) or not decoder.name:
        raise ValueError("a decoder needs a non-empty string name")
    if decoder.name in _REGISTRY and _REGISTRY[decoder.name] is not decoder:
        raise ValueError(f"decoder {decoder.name!r} is already registered")
    _REGISTRY[decoder.name] = decoder
    return decoder


def get_decoder(name: str) -> ParamDecoder:
    """The decoder registered as ``name``; MalformedError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise MalformedError(f"unknown parameter decoder {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def synthesize(decoder: str, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """Weight of one tensor from its integer ``latent`` and float32 ``params`` (InputError if they do not fit)."""
    try:
        dec = get_decoder(decoder)
        x = np.asarray(latent)
        dec.check(tuple(x.shape), {k: tuple(np.shape(v)) for k, v in params.items()})
    except MalformedError as exc:
        raise InputError(str(exc)) from None
    return dec.synthesize(x, {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in params.items()})


# --- built-in decoders: each module registers itself on import. Add new decoder modules here. ---
from . import affine  # noqa: E402,F401
from . import dct  # noqa: E402,F401
from . import block_dct  # noqa: E402,F401

__all__ = ["ParamDecoder", "DECODERS", "register", "get_decoder", "synthesize"]
