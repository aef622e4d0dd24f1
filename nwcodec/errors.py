"""Typed errors. Every fault in a bitstream raises a subclass of :class:`BitstreamError`."""
from __future__ import annotations


class NwcodecError(Exception):
    """Base class of all errors raised on purpose by nwcodec."""


class BitstreamError(NwcodecError, ValueError):
    """The bytes are not a valid nwcodec bitstream (base class of all format faults)."""


class TruncatedError(BitstreamError):
    """The data ends before a declared structure does."""


class BadMagicError(BitstreamError):
    """The data does not start with the nwcodec magic bytes (or was damaged in transfer)."""


class UnsupportedVersionError(BitstreamError):
    """The major version is not one this decoder implements."""


class ChecksumError(BitstreamError):
    """A chunk's CRC-32 does not match its contents."""


class UnknownChunkError(BitstreamError):
    """A critical chunk type this decoder does not understand."""


class LimitExceededError(BitstreamError):
    """A declared size or count exceeds the decoder's limits (refused before allocating)."""


class MalformedError(BitstreamError):
    """The structure is well framed but its contents are inconsistent or invalid."""


class DuplicateNameError(MalformedError):
    """Two tensors (or JSON keys) carry the same name."""


class IncompleteLevelError(TruncatedError):
    """A layered stream (format 1.4) ends inside the level asked for; ``complete`` levels before it are whole."""

    def __init__(self, message: str, complete: int = 0) -> None:
        super().__init__(message)
        self.complete = complete


class BaseMismatchError(BitstreamError):
    """A delta bitstream was decoded against a missing or wrong base."""


class ConfigError(NwcodecError, ValueError):
    """A configuration file or option is invalid; the message names the bad key."""


class InputError(NwcodecError, ValueError):
    """An input file or object cannot be used (missing file, unsupported type, bad data)."""


class WrongKindError(BitstreamError, InputError):
    """A well-formed stream of the wrong kind for the call (weights given to ``decode_scene``, a pack's base and
    scene swapped): a stream fault, and a wrong input."""


class FloatEnvironmentError(NwcodecError, RuntimeError):
    """The process's floating-point environment cannot decode bit-exactly (e.g. flush-to-zero is on)."""
