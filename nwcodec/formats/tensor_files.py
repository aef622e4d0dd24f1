"""Read any supported weights file or model directory; write decoded tensors by file suffix."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .checkpoint import load_torch_file, strip_prefixes
from .hf import INDEX, config_note, find_weights, shard_files
from .npz import read_npz, write_npz
from .safetensors import read_safetensors, write_safetensors

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
READ_SUFFIXES = (".safetensors", ".npz") + TORCH_SUFFIXES
WRITE_SUFFIXES = (".safetensors", ".npz", ".pt", ".pth")


@dataclass
class Loaded:
    """Tensors by name (numpy arrays, bfloat16 as uint16 bits named in ``dtypes``, or torch tensors) and notes."""

    tensors: dict[str, Any]
    dtypes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_tensor_file(path: str | os.PathLike) -> Loaded:
    """A ``.safetensors``/``.npz``/torch file, a shard index, or a Hugging Face model directory."""
    p = Path(path)
    if p.is_dir():
        loaded = read_tensor_file(find_weights(p))
        note = config_note(p)
        loaded.notes += [note] if note else []
        return loaded
    if not p.exists():
        raise InputError(f"no such file or directory: {p}")
    if p.name.endswith(".index.json") or p.name in INDEX:
        out = Loaded({})
        for shard in shard_files(p):
            part = read_tensor_file(shard)
            dup = out.tensors.keys() & part.tensors.keys()
            if dup:
                raise InputError(f"{shard}: tensor {sorted(dup)[0]!r} is also in another shard")
            out.tensors.update(part.tensors)
            out.dtypes.update(part.dtypes)
        return out
    suffix = p.suffix.lower()
    if suffix == ".safetensors":
        arrays, dtypes, _ = read_safetensors(p)
        return Loaded(strip_prefixes(arrays), strip_prefixes(dtypes))
    if suffix == ".npz":
        arrays, dtypes = read_npz(p)
        return Loaded(arrays, dtypes)
    if suffix in TORCH_SUFFIXES:
        return Loaded(dict(load_torch_file(p)))
    raise InputError(f"unsupported file type {suffix or p.name!r} for {p} "
                     f"(use {', '.join(READ_SUFFIXES)} or a model directory)")


def write_tensor_file(path: str | os.PathLike, arrays: dict[str, np.ndarray], dtypes: dict[str, str] | None = None,
                      notes: list[str] | None = None, suffix: str | None = None) -> None:
    """Write by suffix (``suffix`` overrides the path's): ``.safetensors`` and ``.npz`` with numpy only,
    ``.pt``/``.pth`` with torch. ``dtypes[name] == "bfloat16"`` writes that float32 array as bfloat16
    (rounded to nearest even)."""
    suffix = (suffix or Path(path).suffix).lower()
    if suffix not in WRITE_SUFFIXES:
        raise InputError(f"output must end in {', '.join(WRITE_SUFFIXES)}, not {suffix or Path(path).name!r}")
    if suffix == ".safetensors":
        meta = {"nwcodec.note.%d" % i: n for i, n in enumerate(notes or [])}
        write_safetensors(path, arrays, dtypes, meta or None)
    elif suffix == ".npz":
        write_npz(path, arrays, dtypes)
    else:
        from ..extras import require

        torch = require("torch", "torch")
        bf = {k for k, v in (dtypes or {}).items() if v == "bfloat16"}
        out = {}
        for k, v in arrays.items():
            t = torch.from_numpy(np.array(v, order="C"))
            out[k] = t.to(torch.bfloat16) if k in bf else t
        torch.save(out, str(path))
