"""Decoder resource limits: every declared size or count is checked against these before allocating.

The defaults bound what any stream can make a default decoder do: at most ``max_decoded_bytes``
of output, table construction of at most ``max_table_work`` units (one unit ≈ 3 ns on an idle
core of this project's machine, so ≈ 0.2 s in all; see :func:`table_work` and
``benchmarks/table_build.py``), JSON work proportional to ``max_json_values``. A receiver that
expects bigger models raises the relevant limit, e.g. ``Limits(max_decoded_bytes=2**34)``.
"""
from __future__ import annotations

from dataclasses import dataclass

TABLE_FIXED_WORK = 1 << 16   # per-table cost of reading, normalizing and building a model, in work units


@dataclass(frozen=True)
class Limits:
    """Upper bounds a decoder enforces on untrusted input (exceeding one raises LimitExceededError)."""

    max_total_bytes: int = 2**34   # whole stream
    max_chunk_bytes: int = 2**31   # one chunk's data
    max_chunks: int = 2**20        # framed chunks in a stream, NEND included
    max_json_bytes: int = 2**24    # one JSON document (a 16 MB header parses in ≈ 0.1 s)
    max_json_depth: int = 32       # nesting of JSON objects/arrays (top-level object = 1)
    max_json_values: int = 2**21   # JSON values (objects, arrays, scalars) in one document
    max_tensors: int = 2**16       # tensors in one stream (codec layer)
    max_ndim: int = 8              # dimensions of one tensor (codec layer)
    max_elements: int = 2**34      # elements of one tensor (codec layer)
    max_name_bytes: int = 1024     # UTF-8 bytes of one tensor name (codec layer)
    max_decoded_bytes: int = 2**31  # bytes of all decoded tensors of a stream together (codec layer)
    max_table_alphabet: int = 2**12  # values of one TABL table, escape excluded (entropy layer)
    max_table_work: int = 2**26    # sum of table_work(n) over all TABL chunks (entropy layer)


def table_work(n: int) -> int:
    """Work units to build one table of ``n`` values (+ escape): the quadratic cost of constriction's
    ``Categorical(perfect=True)`` plus a fixed per-table cost (one unit ≈ 3 ns on a slow core)."""
    return (n + 1) ** 2 + TABLE_FIXED_WORK


DEFAULT_LIMITS = Limits()
