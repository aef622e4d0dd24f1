"""Optional dependencies: which extra of ``pip install nwcodec[...]`` provides a module."""
from __future__ import annotations

import importlib
from types import ModuleType

from .errors import NwcodecError

EXTRAS = ("torch", "scenes", "all")


class MissingExtraError(NwcodecError, ImportError):
    """A feature needs an optional dependency that is not installed (the CLI exits with status 1)."""


def require(extra: str, module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(f"needs nwcodec[{extra}] ({module} is not installed): "
                                f"pip install 'nwcodec[{extra}]'") from None
