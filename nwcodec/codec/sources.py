"""Turn what a user hands to ``encode`` into named numpy arrays (torch imported only if needed)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import InputError

NUMPY_DTYPES = {"float32", "float16", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}
SUPPORTED_DTYPES = NUMPY_DTYPES | {"bfloat16"}


def _tensor_to_numpy(name: str, t: Any) -> tuple[np.ndarray, str]:
    """Return (array, original dtype name); bfloat16 is widened exactly to float32."""
    if isinstance(t, np.ndarray):
        arr = t
    else:
        import torch

        if not isinstance(t, torch.Tensor):
            raise InputError(f"entry {name!r} is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:
            return t.float().numpy().copy(), "bfloat16"
        arr = t.numpy()
    dtype = str(arr.dtype)
    if dtype not in NUMPY_DTYPES:
        raise InputError(f"tensor {name!r} has unsupported dtype {dtype}")
    return np.array(arr, order="C", copy=True), dtype  # ascontiguousarray would turn 0-d into 1-d


def load_weights(weights: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Accept a ``torch.nn.Module``, a state dict (or name → array mapping), or a file path.

    Files: ``.pt``/``.pth``/``.bin`` (``torch.load(weights_only=True)``) and ``.safetensors``.
    Returns arrays by name and each tensor's original dtype name.
    """
    if isinstance(weights, (str, os.PathLike)):
        weights = _load_file(Path(weights))
    elif hasattr(weights, "state_dict") and callable(weights.state_dict):
        weights = weights.state_dict()
    if not isinstance(weights, Mapping):
        raise InputError(f"cannot encode a {type(weights).__name__}: pass a module, a state dict or a path")
    if "state_dict" in weights and isinstance(weights["state_dict"], Mapping):
        weights = weights["state_dict"]
    arrays, dtypes = {}, {}
    for name, t in weights.items():
        if not isinstance(name, str):
            raise InputError(f"tensor names must be strings, got {name!r}")
        arrays[name], dtypes[name] = _tensor_to_numpy(name, t)
    return arrays, dtypes


def _load_file(path: Path) -> Mapping[str, Any]:
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            return _bf16_safetensors(path, exc)
    if suffix in (".pt", ".pth", ".bin", ".ckpt"):
        import torch

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for bad/unsafe files
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise InputError(f"cannot read {path} as a weights-only torch file ({reason})") from None
        if not isinstance(obj, Mapping):
            raise InputError(f"{path} holds a {type(obj).__name__}, not a state dict")
        return obj
    raise InputError(f"unsupported file type {suffix!r} for {path} (use .pt, .pth or .safetensors)")


def _bf16_safetensors(path: Path, first_error: Exception) -> Mapping[str, Any]:
    """Read safetensors through torch (for bfloat16, which numpy lacks)."""
    try:
        from safetensors.torch import load_file

        return load_file(str(path))
    except Exception:
        raise InputError(f"cannot read {path} as safetensors: {first_error}") from None
