"""``.npz`` tensor files; bfloat16 is stored as uint16 bits and named in a ``__dtypes__`` JSON entry."""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ..errors import InputError

DTYPES_KEY = "__dtypes__"


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray], dtypes: dict[str, str] | None = None) -> None:
    from .bf16 import f32_to_bf16_bits

    bf = {k for k, v in (dtypes or {}).items() if v == "bfloat16" and k in arrays}
    out = {k: (f32_to_bf16_bits(v) if k in bf and v.dtype != np.uint16 else np.asarray(v)) for k, v in arrays.items()}
    if bf:
        out[DTYPES_KEY] = np.array(json.dumps({k: "bfloat16" for k in sorted(bf)}))
    with open(path, "wb") as f:
        np.savez(f, **out)


def read_npz(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """``(arrays, dtype names)``; bfloat16 arrays are uint16 bit patterns. Never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"cannot read {path} as .npz ({exc})") from None
    tags = json.loads(str(arrays.pop(DTYPES_KEY))) if DTYPES_KEY in arrays else {}
    return arrays, {k: tags.get(k, v.dtype.name) for k, v in arrays.items()}
