"""Registry of ``TENS`` codings (the ``"coding"`` of a HEAD tensor entry). Torch-free.

Each built-in module defines one :class:`~nwcodec.codings.base.Coding` and registers itself
(``NAME = register(MyCoding())``) when imported below. A new coding (codebook, sparse, low-rank,
trellis, …) is one new module plus one import line here.
"""
from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ..errors import MalformedError
from .base import Coding, DecodeSource, SegmentRef, TensorPlan, WorkUnit

_REGISTRY: dict[str, Coding] = {}
CODINGS: Mapping[str, Coding] = MappingProxyType(_REGISTRY)


def register(coding: Coding) -> Coding:
    """Add ``coding`` under its ``name`` (a name can be registered once)."""
    if not isinstance(coding.name, str) or not coding.name:
        raise ValueError("a coding needs a non-empty string name")
    if coding.name in _REGISTRY and _REGISTRY[coding.name] is not coding:
        raise ValueError(f"coding {coding.name!r} is already registered")
    _REGISTRY[coding.name] = coding
    return coding


def get_coding(name: object) -> Coding:
    """The coding registered as ``name``; MalformedError naming the known ones otherwise."""
    try:
        return _REGISTRY[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise MalformedError(f"unknown coding {name!r} (known: {', '.join(_REGISTRY)})") from None


# --- built-in codings: each module registers itself on import. Add new coding modules here. ---
from . import raw  # noqa: E402,F401
from . import quant  # noqa: E402,F401
from . import byteplanes  # noqa: E402,F401
from . import latent  # noqa: E402,F401
from . import residual  # noqa: E402,F401
from . import dquant  # noqa: E402,F401
from . import rowclass  # noqa: E402,F401
# format 1.2 (flagged by the MTHD chunk, see .features)
from . import codebook  # noqa: E402,F401
from . import sparse  # noqa: E402,F401
from . import lowrank  # noqa: E402,F401
from . import sum_parts  # noqa: E402,F401
from . import refine  # noqa: E402,F401  (format 1.4, layered streams)

__all__ = ["CODINGS", "Coding", "DecodeSource", "SegmentRef", "TensorPlan", "WorkUnit", "get_coding", "register"]
