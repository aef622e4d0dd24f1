"""File-level API in the spirit of safetensors: ``save_file`` / ``load_file`` / ``load_model``.

``load_file`` needs numpy and constriction only; bfloat16 tensors come back as float32 holding the exact
bfloat16 values (``framework="pt"`` returns torch tensors in their recorded dtypes, bfloat16 included).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError


def save_file(weights: Any, path: str | os.PathLike, **codec_opts: Any) -> int:
    """Encode a state dict, module or weights file to ``path`` (atomically); returns the byte count."""
    from .atomic import write_bytes_atomic
    from .handoff import encode

    data = encode(weights, **codec_opts)
    write_bytes_atomic(path, data)
    return len(data)


def _read(path: str | os.PathLike) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {p}")
    return p.read_bytes()


def decoded_with_dtypes(data: bytes, workers: int | None = None,
                        base: bytes | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Decoded arrays and the dtype names the stream records (``bfloat16`` where numpy shows float32)."""
    from .codec import decode, parse

    ps = parse(data)
    recorded = {t["name"]: t["dtype"] for t in ps.tensors}
    recorded.update({a: recorded[t] for a, t in (ps.aliases or {}).items()})
    arrays = decode(data, workers=workers, base=base)
    return arrays, {k: recorded[k] for k in arrays}


def load_file(path: str | os.PathLike, framework: str = "np") -> dict[str, Any]:
    """Decode an ``.nwc`` file to ``{name: array}`` (``framework="np"``) or torch tensors (``"pt"``)."""
    if framework not in ("np", "numpy", "pt", "torch"):
        raise InputError(f"framework must be 'np' or 'pt', not {framework!r}")
    arrays, dtypes = decoded_with_dtypes(_read(path))
    if framework in ("np", "numpy"):
        from .formats.bf16 import bf16_bits_to_f32, f32_to_bf16_bits

        return {k: bf16_bits_to_f32(f32_to_bf16_bits(v)) if dtypes[k] == "bfloat16" else v for k, v in arrays.items()}
    from .extras import require

    torch = require("torch", "torch")
    out: dict[str, Any] = {}
    for k, v in arrays.items():
        t = torch.from_numpy(np.array(v, order="C"))
        out[k] = t.to(torch.bfloat16) if dtypes[k] == "bfloat16" else t
    return out


@dataclass
class LoadResult:
    """What ``load_model`` did not match, like ``torch.nn.Module.load_state_dict``'s return value."""

    missing_keys: list[str]
    unexpected_keys: list[str]


def load_model(module: Any, path: str | os.PathLike | bytes, strict: bool = True) -> LoadResult:
    """Load a stream (path or bytes) into ``module``, casting to its dtypes; reports missing/unexpected keys.

    ``strict=True`` raises :class:`~nwcodec.errors.InputError` listing them if any; shapes must always match.
    """
    from .extras import require

    require("torch", "torch")
    from .codec.load import load_state

    data = bytes(path) if isinstance(path, (bytes, bytearray, memoryview)) else _read(path)
    arrays, _ = decoded_with_dtypes(data)
    missing, unexpected = load_state(module, arrays, strict)
    return LoadResult(missing, unexpected)
