"""Format 1.2 features and the critical ``MTHD`` chunk that flags them.

A stream whose tensors use a 1.2 coding (``codebook``, ``sparse``, ``lowrank``, ``sum``, also as
parts of a ``sum``) carries one ``MTHD`` chunk right after the header (and ``BASE``): the ASCII
feature names, sorted, unique, comma-separated, exactly the features used. Decoders older than 1.2
refuse it as an unknown critical chunk; a decoder refuses a name it does not implement by name.
"""
from __future__ import annotations

from ..errors import MalformedError, UnknownChunkError
from . import get_coding

FEATURES_1_2 = ("codebook", "lowrank", "sparse", "sum")
MAX_MTHD_BYTES = 256


def used_features(tensors: list[dict]) -> set[str]:
    """The 1.2 features the (validated) tensor entries use."""
    out: set[str] = set()
    for t in tensors:
        coding = get_coding(t["coding"])
        if hasattr(coding, "features"):
            out |= coding.features(t)
        elif getattr(coding, "feature", None):
            out.add(coding.feature)
    return out


def mthd_payload(features: set[str]) -> bytes:
    """The ``MTHD`` chunk data for ``features``."""
    return ",".join(sorted(features)).encode("ascii")


def check_mthd(data: bytes | None, tensors: list[dict]) -> None:
    """``MTHD`` present exactly when 1.2 features are used, and naming exactly those."""
    used = used_features(tensors)
    if data is None:
        if used:
            raise MalformedError(f"tensors use format 1.2 features {sorted(used)} without an MTHD chunk")
        return
    if len(data) > MAX_MTHD_BYTES:
        raise MalformedError(f"MTHD chunk of {len(data)} bytes (at most {MAX_MTHD_BYTES})")
    try:
        names = bytes(data).decode("ascii").split(",")
    except UnicodeDecodeError:
        raise MalformedError("MTHD chunk is not ASCII") from None
    unknown = [n for n in names if n not in FEATURES_1_2]
    if unknown:
        raise UnknownChunkError(f"MTHD names feature(s) {unknown} this decoder does not implement")
    if names != sorted(set(names)):
        raise MalformedError("MTHD feature names must be sorted and unique")
    if set(names) != used:
        raise MalformedError(f"MTHD lists {names}, the tensors use {sorted(used)}")
