"""A second nwcodec decoder written from ``bitstreams/FORMAT.md`` alone.

Pure Python + numpy (+ stdlib ``zlib``, ``hashlib``, ``json``); it never imports ``nwcodec`` or
``constriction`` (``tests/test_independent_decoder.py`` checks this). Entry points:
:func:`decode` (bytes -> list of ``(name, array)``) and :func:`digest` (FORMAT.md 6.9).
"""
from .decode import decode, digest, stream_info
from .errors import DecodeError

__all__ = ["decode", "digest", "stream_info", "DecodeError"]
