"""Declared chunk grammars: which critical chunks a stream holds, how many of each, in which order.

A grammar is a sequence of :class:`Slot` (chunk types that may fill it, and how many times). Ancillary
chunks (lower-case first letter, e.g. ``note``) may appear anywhere and are not part of it. A new chunk
type is one new slot, and the error message is generated from the declaration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import MalformedError


@dataclass(frozen=True)
class Slot:
    """``types`` (alternatives) occurring ``least`` to ``most`` times (``most=None``: unbounded)."""

    types: tuple[str, ...]
    least: int = 0
    most: int | None = 1

    def describe(self) -> str:
        name = "|".join(self.types)
        if (self.least, self.most) == (1, 1):
            return name
        if (self.least, self.most) == (0, 1):
            return f"{name}?"
        return f"{name}*" if self.least == 0 else f"{name}+"


def is_critical(chunk_type: str) -> bool:
    """Critical chunks start with an upper-case letter (FORMAT.md 3)."""
    return chunk_type[:1].isupper()


def describe(grammar: Sequence[Slot]) -> str:
    """The grammar as a one-line pattern, e.g. ``HEAD|ZHDR BASE? TABL* TENS*``."""
    return " ".join(s.describe() for s in grammar)


def check_order(types: Sequence[str], grammar: Sequence[Slot]) -> dict[str, int]:
    """Check the critical chunk types against ``grammar``; returns the count of each type.

    Raises :class:`MalformedError` naming the grammar when a chunk is missing, repeated or out of place.
    """
    critical = [t for t in types if is_critical(t)]
    counts: dict[str, int] = {}
    i = 0
    for slot in grammar:
        n = 0
        while i < len(critical) and critical[i] in slot.types and (slot.most is None or n < slot.most):
            counts[critical[i]] = counts.get(critical[i], 0) + 1
            i, n = i + 1, n + 1
        if n < slot.least:
            found = critical[i] if i < len(critical) else "the end of the stream"
            raise MalformedError(f"chunks out of order: expected {slot.describe()} at critical chunk {i}, found "
                                 f"{found} (grammar: {describe(grammar)})")
    if i < len(critical):
        raise MalformedError(f"chunks out of order: unexpected {critical[i]} at critical chunk {i} "
                             f"(grammar: {describe(grammar)})")
    return counts
