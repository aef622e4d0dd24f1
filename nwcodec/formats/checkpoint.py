"""Torch checkpoints: read with ``weights_only=True`` and unwrap the common containers.

Unwrapped: ``{"state_dict": …}``, ``model_state_dict``, ``model``, ``ema`` / ``model_ema`` / ``state_dict_ema``,
``module`` / ``net`` / ``network``, and the ``module.`` (DataParallel) and ``_orig_mod.`` (torch.compile) name
prefixes. A file holding a whole pickled module is refused with a plain message: never unpickled.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping

from ..errors import InputError

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "ema", "model_ema", "state_dict_ema", "ema_state_dict",
                "module", "net", "network", "weights", "params")
NAME_PREFIXES = ("module.", "_orig_mod.")
MAX_DEPTH = 4


def _is_tensor_map(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(hasattr(v, "shape") and hasattr(v, "dtype")
                                                            for v in obj.values())


def unwrap_checkpoint(obj: Any, where: str = "checkpoint") -> Mapping[str, Any]:
    """The state dict inside ``obj`` (a state dict itself or a training checkpoint around one)."""
    for _ in range(MAX_DEPTH):
        if _is_tensor_map(obj) or not isinstance(obj, Mapping):
            break
        inner = next((obj[k] for k in WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
        if inner is None and hasattr(obj.get("model"), "state_dict"):
            raise InputError(f"{where}: key 'model' holds a whole module, not a state dict")
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, Mapping):
        raise InputError(f"{where} holds a {type(obj).__name__}, not a state dict")
    tensors = {k: v for k, v in obj.items() if hasattr(v, "shape") and hasattr(v, "dtype")}
    if not tensors:
        raise InputError(f"{where}: no tensors found (keys: {', '.join(map(str, list(obj)[:6]))})")
    return strip_prefixes(tensors) if len(tensors) == len(obj) else strip_prefixes(dict(obj))


def strip_prefixes(sd: Mapping[str, Any]) -> dict[str, Any]:
    """Drop a ``module.``/``_orig_mod.`` prefix that every name carries."""
    sd = dict(sd)
    for p in NAME_PREFIXES:
        if sd and all(isinstance(k, str) and k.startswith(p) for k in sd):
            sd = {k[len(p):]: v for k, v in sd.items()}
    return sd


def load_torch_file(path: str | os.PathLike) -> Mapping[str, Any]:
    """``torch.load(weights_only=True)`` on CPU, unwrapped; one-line errors without torch's advice."""
    from ..extras import require

    torch = require("torch", "torch")
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for bad/unsafe files
        text = str(exc)
        if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
            raise InputError(f"{path} holds pickled Python objects (e.g. a whole module), which nwcodec never "
                             f"unpickles: save model.state_dict() instead") from None
        first = (text.strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot read {path} as a torch file ({_plain(first)[:160]})") from None
    return unwrap_checkpoint(obj, str(path))


def _plain(s: str) -> str:
    """Strip ANSI escapes and control characters."""
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]|[\x00-\x1f\x7f]", "", s)
