"""nwcodec: a codec for neural-network weights and neural 3D scenes.

Receivers need only numpy and constriction: ``nwcodec.decode`` and the bitstream/entropy layers
never import torch. Training-side features (``reparameterize``, ``load_into_module``) import
torch lazily.
"""
from __future__ import annotations

from .codec import decode, encode_latent_model, parse
from .handoff import encode
from .extras import MissingExtraError
from .io import load_file, load_model, save_file
from .errors import (BadMagicError, BaseMismatchError, BitstreamError, ChecksumError, ConfigError,
                     DuplicateNameError, FloatEnvironmentError, InputError, LimitExceededError, MalformedError,
                     NwcodecError, TruncatedError, UnknownChunkError, UnsupportedVersionError)

__version__ = "0.1.0"

_LAZY = {
    "load_into_module": ("nwcodec.codec.load", "load_into_module"),
    "reparameterize": ("nwcodec.reparam", "reparameterize"),
    "decode_scene": ("nwcodec.scene", "decode_scene"),
    "encode_scene": ("nwcodec.scene", "encode_scene"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        mod, attr = _LAZY[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(f"module 'nwcodec' has no attribute {name!r}")


__all__ = ["encode", "decode", "save_file", "load_file", "load_model", "MissingExtraError", "encode_latent_model", "parse", "load_into_module", "reparameterize",
           "decode_scene", "encode_scene", "NwcodecError", "BitstreamError", "TruncatedError", "BadMagicError",
           "UnsupportedVersionError", "ChecksumError", "UnknownChunkError", "LimitExceededError",
           "MalformedError", "DuplicateNameError", "BaseMismatchError", "ConfigError", "InputError",
           "FloatEnvironmentError"]
