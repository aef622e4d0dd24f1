"""Error classes of the independent decoder, named after FORMAT.md's fault tables (sections 6.10, 7)."""
from __future__ import annotations


class DecodeError(Exception):
    """Any fault in a stream (FORMAT.md's ``BitstreamError``)."""


class BadMagicError(DecodeError):
    """Fewer than 8 bytes, or the first 8 bytes are not the magic."""


class TruncatedError(DecodeError):
    """Data ends inside a header, chunk or payload field."""


class UnsupportedVersionError(DecodeError):
    """Major version other than 1."""


class LimitExceededError(DecodeError):
    """A declared size or count exceeds a limit of FORMAT.md section 3 (or a codec-layer limit)."""


class ChecksumError(DecodeError):
    """A chunk's CRC-32 does not match."""


class MalformedError(DecodeError):
    """Any other structural fault."""


class DuplicateNameError(MalformedError):
    """Duplicate JSON key or tensor name."""


class UnknownChunkError(DecodeError):
    """A critical chunk type this decoder does not know."""


class BaseMismatchError(DecodeError):
    """A delta stream decoded without its base, or against another base."""


class UnsupportedFeatureError(MalformedError):
    """A coding or parameter decoder this decoder does not implement (a clear failure, never a skip)."""
