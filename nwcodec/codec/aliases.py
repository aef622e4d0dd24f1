"""Format 1.3: tied weights coded once. The critical ``ALIS`` chunk names extra tensors that decode to a
coded tensor: strict JSON ``{"aliases": [[alias, target], …]}`` (FORMAT.md section 6.15). Receiver side: numpy only."""
from __future__ import annotations

import numpy as np

from ..bitstream import Chunk, Limits, strict_json
from ..errors import DuplicateNameError, LimitExceededError, MalformedError

ALIAS_TYPE = "ALIS"
ALIAS_MINOR = 3


def alias_chunk(aliases: dict[str, str]) -> Chunk:
    """The ``ALIS`` chunk for ``{alias: coded tensor name}``."""
    return Chunk(ALIAS_TYPE, strict_json.dumps({"aliases": [[a, t] for a, t in aliases.items()]}))


def read_aliases(data: bytes, tensor_names: list[str], limits: Limits) -> dict[str, str]:
    """Validated ``{alias: target}``: new names, targets that are coded tensors, within ``max_tensors``."""
    obj = strict_json.loads(bytes(data), limits)
    pairs = obj.get("aliases") if set(obj) == {"aliases"} else None
    if not isinstance(pairs, list) or not pairs:
        raise MalformedError('ALIS: must be {"aliases": [[alias, target], ...]} with at least one pair')
    if len(pairs) + len(tensor_names) > limits.max_tensors:
        raise LimitExceededError(f"ALIS: {len(pairs)} aliases and {len(tensor_names)} tensors exceed "
                                 f"max_tensors={limits.max_tensors}")
    coded = set(tensor_names)
    out: dict[str, str] = {}
    for i, p in enumerate(pairs):
        if not (isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) and s for s in p)):
            raise MalformedError(f"ALIS: entry {i} is not a pair of non-empty names")
        alias, target = p
        if len(alias.encode()) > limits.max_name_bytes:
            raise MalformedError(f"ALIS: entry {i} has an invalid name")
        if alias in coded or alias in out:
            raise DuplicateNameError(f"ALIS: alias {alias!r} repeats a tensor or alias name")
        if target not in coded:
            raise MalformedError(f"ALIS: alias {alias!r} names {target!r}, which is not a coded tensor")
        out[alias] = target
    return out


def expand(arrays: dict[str, np.ndarray], aliases: dict[str, str]) -> dict[str, np.ndarray]:
    """Add each alias (after the coded tensors, in ``ALIS`` order) as the same array as its target."""
    for alias, target in aliases.items():
        if target in arrays:
            arrays[alias] = arrays[target]
    return arrays
