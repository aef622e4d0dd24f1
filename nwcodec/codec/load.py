"""Put decoded arrays back into a torch module."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError


def load_state(module: Any, arrays: dict[str, np.ndarray], strict: bool = True) -> tuple[list[str], list[str]]:
    """Copy ``arrays`` into ``module``'s tensors (each cast to the module's dtype, e.g. back to bfloat16);
    returns ``(missing, unexpected)`` keys. ``strict``: any mismatch is an InputError, nothing loaded."""
    import torch

    own = module.state_dict()
    missing = [k for k in own if k not in arrays]
    unexpected = [k for k in arrays if k not in own]
    if strict and (missing or unexpected):
        raise InputError(f"state mismatch: missing {missing[:5]}{' …' if len(missing) > 5 else ''}, "
                         f"unexpected {unexpected[:5]}{' …' if len(unexpected) > 5 else ''}")
    state = {}
    for k, v in arrays.items():
        if k in own:
            if tuple(own[k].shape) != v.shape:
                raise InputError(f"{k}: decoded shape {v.shape} != module shape {tuple(own[k].shape)}")
            state[k] = torch.from_numpy(np.array(v, order="C")).to(own[k].dtype)
    module.load_state_dict(state, strict=False)
    return missing, unexpected


def load_into_module(module: Any, arrays: dict[str, np.ndarray] | bytes, strict: bool = True) -> Any:
    """Load decoded arrays (or a bitstream, decoded first) into ``module``; returns it."""
    if isinstance(arrays, (bytes, bytearray, memoryview)):
        from .decoder import decode

        arrays = decode(arrays)
    load_state(module, arrays, strict)
    return module
