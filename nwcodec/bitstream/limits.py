"""Decoder resource limits: every declared size or count is checked against these before allocating."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Upper bounds a decoder enforces on untrusted input (exceeding one raises LimitExceededError)."""

    max_total_bytes: int = 2**34   # whole stream
    max_chunk_bytes: int = 2**31   # one chunk's data
    max_chunks: int = 2**20        # framed chunks in a stream, NEND included
    max_json_bytes: int = 2**26    # one JSON document
    max_json_depth: int = 32       # nesting of JSON objects/arrays (top-level object = 1)
    max_tensors: int = 2**16       # tensors in one stream (codec layer)
    max_ndim: int = 8              # dimensions of one tensor (codec layer)
    max_elements: int = 2**34      # elements of one tensor (codec layer)
    max_name_bytes: int = 1024     # UTF-8 bytes of one tensor name (codec layer)


DEFAULT_LIMITS = Limits()
