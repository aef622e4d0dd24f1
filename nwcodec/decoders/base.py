"""The parameter-decoder interface: integer latent + float32 params -> float32 weight (numpy only).

A decoder is registered under the string a ``latent`` tensor's HEAD names in ``"decoder"``
(:mod:`nwcodec.decoders`). ``check`` runs at parse time on declared shapes only (nothing is
allocated); ``synthesize`` runs on decoded data that ``check`` accepted, with finite params,
and uses elementwise float32 ufuncs in a fixed order so the result is bit-identical everywhere.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import MalformedError

Shape = tuple[int, ...]


@runtime_checkable
class ParamDecoder(Protocol):
    """One parameter decoder (see module docstring)."""

    name: str  # the HEAD "decoder" string

    def check(self, shape: Shape, params: dict[str, Shape]) -> None:
        """Raise MalformedError unless these declared param shapes fit a latent of ``shape``. Parse time, no allocation."""

    def synthesize(self, latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
        """int32 latent of ``shape`` + finite float32 params -> float32 weight of ``shape`` (numpy, fixed order)."""


def require_keys(decoder: str, params: dict[str, Shape], keys: tuple[str, ...]) -> None:
    """Exactly the parameters ``keys`` (in any order), else MalformedError."""
    if set(params) != set(keys):
        raise MalformedError(f"decoder {decoder!r} takes params {sorted(keys)}, got {sorted(params)}")


def check_channel_params(decoder: str, shape: Shape, params: dict[str, Shape], keys: tuple[str, ...]) -> None:
    """Each of ``keys`` is a vector of 1 or ``shape[0]`` entries (per tensor / per output channel)."""
    if not shape:
        raise MalformedError(f"decoder {decoder!r} needs a latent with at least one dimension")
    for key in keys:
        p = params[key]
        if len(p) != 1 or p[0] not in (1, shape[0]):
            raise MalformedError(f"decoder {decoder!r}: param {key!r} has shape {list(p)}, "
                                 f"needs [1] or [{shape[0]}] for a latent of shape {list(shape)}")


def channel_affine(x: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``x * scale[c] + offset[c]`` along axis 0, each operation rounded to float32."""
    bshape = (-1,) + (1,) * (x.ndim - 1)
    out = np.multiply(x, np.asarray(scale, np.float32).reshape(bshape), dtype=np.float32)
    return np.add(out, np.asarray(offset, np.float32).reshape(bshape), out=out, dtype=np.float32)
