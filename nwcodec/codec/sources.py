"""Turn what a user hands to ``encode`` into named numpy arrays (torch imported only if needed).

Accepted: a ``torch.nn.Module``, a state dict (or name → array mapping, checkpoint wrappers unwrapped), a
``.pt``/``.pth``/``.bin``/``.safetensors``/``.npz`` file, a shard index or a Hugging Face model directory
(:mod:`nwcodec.formats`). Tensors that share storage (tied weights) are found here and reported as aliases.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import InputError
from ..formats.bf16 import bf16_bits_to_f32
from ..formats.checkpoint import unwrap_checkpoint

NUMPY_DTYPES = {"float32", "float16", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}
SUPPORTED_DTYPES = NUMPY_DTYPES | {"bfloat16"}


@dataclass
class Source:
    """Arrays to code (bfloat16 widened exactly to float32), their dtype names, tied names and notes."""

    arrays: dict[str, np.ndarray]
    dtypes: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)   # alias name -> coded tensor name
    notes: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)      # every name, coded or alias, in input order


def _tensor_to_numpy(name: str, t: Any, dtype_tag: str | None = None) -> tuple[np.ndarray, str]:
    """Return (array, original dtype name); bfloat16 is widened exactly to float32."""
    if isinstance(t, np.ndarray):
        if dtype_tag == "bfloat16":
            return bf16_bits_to_f32(t), "bfloat16"
        arr = t
    else:
        try:
            import torch
        except ImportError:
            raise InputError(f"entry {name!r} is a {type(t).__name__}, not a numpy array") from None
        if not isinstance(t, torch.Tensor):
            raise InputError(f"entry {name!r} is a {type(t).__name__}, not a tensor")
        t = t.detach().cpu()
        if t.dtype == torch.bfloat16:
            return t.float().numpy().copy(), "bfloat16"
        try:
            arr = t.numpy()
        except TypeError:
            raise InputError(f"tensor {name!r} has unsupported dtype {str(t.dtype).replace('torch.', '')}") from None
    dtype = str(arr.dtype)
    if dtype not in NUMPY_DTYPES:
        raise InputError(f"tensor {name!r} has unsupported dtype {dtype}")
    return np.array(arr, order="C", copy=True), dtype  # ascontiguousarray would turn 0-d into 1-d


def _storage_key(t: Any) -> tuple | None:
    """Identity of a tensor's memory and view (equal keys = tied weights), or ``None`` if empty."""
    if isinstance(t, np.ndarray):
        if t.size == 0:
            return None
        return ("np", t.__array_interface__["data"][0], t.shape, t.strides, t.dtype.str)
    if hasattr(t, "untyped_storage") and hasattr(t, "numel") and t.numel() > 0:
        return ("pt", t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()),
                str(t.dtype), str(t.device))
    return None


def load_source(weights: Any, tie: bool = True) -> Source:
    """Arrays, dtypes, aliases and notes of a module, mapping or path (see the module docstring)."""
    if isinstance(weights, Source):
        return weights
    notes: list[str] = []
    tags: dict[str, str] = {}
    if isinstance(weights, (str, os.PathLike)):
        from ..formats.tensor_files import read_tensor_file

        loaded = read_tensor_file(weights)
        weights, tags, notes = loaded.tensors, loaded.dtypes, loaded.notes
    elif hasattr(weights, "state_dict") and callable(weights.state_dict):
        weights = weights.state_dict(keep_vars=False)
    if not isinstance(weights, Mapping):
        raise InputError(f"cannot encode a {type(weights).__name__}: pass a module, a state dict or a path")
    weights = unwrap_checkpoint(weights, "the state dict")
    arrays, dtypes, aliases, seen = {}, {}, {}, {}
    for name, t in weights.items():
        if not isinstance(name, str):
            raise InputError(f"tensor names must be strings, got {name!r}")
        key = _storage_key(t) if tie else None
        if key is not None and key in seen:
            aliases[name] = seen[key]
            continue
        if key is not None:
            seen[key] = name
        arrays[name], dtypes[name] = _tensor_to_numpy(name, t, tags.get(name))
    return Source(arrays, dtypes, aliases, notes, list(weights))


def load_weights(weights: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays by name and each tensor's original dtype name (tied names included, sharing one array)."""
    src = load_source(weights)
    real = [src.aliases.get(n, n) for n in src.order]
    return ({n: src.arrays[r] for n, r in zip(src.order, real)}, {n: src.dtypes[r] for n, r in zip(src.order, real)})
