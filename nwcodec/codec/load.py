"""Put decoded arrays back into a torch module."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError


def load_into_module(module: Any, arrays: dict[str, np.ndarray] | bytes, strict: bool = True) -> Any:
    """Load decoded arrays (or a bitstream, decoded first) into ``module``; returns it.

    Each array is cast to the dtype of the module's own tensor (e.g. back to bfloat16).
    """
    import torch

    if isinstance(arrays, (bytes, bytearray, memoryview)):
        from .decoder import decode

        arrays = decode(arrays)
    own = module.state_dict()
    missing = [k for k in own if k not in arrays]
    unexpected = [k for k in arrays if k not in own]
    if strict and (missing or unexpected):
        raise InputError(f"state mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    state = {}
    for k, v in arrays.items():
        if k in own:
            if tuple(own[k].shape) != v.shape:
                raise InputError(f"{k}: decoded shape {v.shape} != module shape {tuple(own[k].shape)}")
            state[k] = torch.from_numpy(np.array(v, order="C")).to(own[k].dtype)
    module.load_state_dict(state, strict=strict)
    return module
