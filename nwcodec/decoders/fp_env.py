"""Check that float32 arithmetic keeps subnormals, as the format's receiver arithmetic requires.

Flush-to-zero (results) and denormals-are-zero (operands), switched on for a process by, e.g., a
library built with ``-ffast-math``, make numpy's array loops return 0 where the format says a
subnormal. :func:`check_subnormals` probes both through numpy's float32 loops (long enough to
take the vectorized paths) and raises :class:`FloatEnvironmentError` instead of decoding wrongly.
"""
from __future__ import annotations

import numpy as np

from ..errors import FloatEnvironmentError

_N = 64


def _bits(pattern: int) -> np.ndarray:
    """A float32 array built from a bit pattern (no arithmetic, so no flushing on the way in)."""
    return np.full(_N, pattern, dtype=np.uint32).view(np.float32)


_TINY = _bits(0x00000200)      # 2^-140, a subnormal operand
_ONE = _bits(0x3F800000)       # 1.0
_SMALL = _bits(0x0D800000)     # 2^-100 (normal)
_SCALE = _bits(0x30800000)     # 2^-30 (normal); 2^-100 * 2^-30 = 2^-130 is subnormal
_EXPECT = {"operand": 0x00000200, "product": 0x00080000, "sum": 0x00000400}   # 2^-140, 2^-130, 2^-139


def check_subnormals() -> None:
    """Raise FloatEnvironmentError if float32 multiply/add flush or ignore subnormals."""
    got = {"operand": np.multiply(_TINY, _ONE, dtype=np.float32),
           "product": np.multiply(_SMALL, _SCALE, dtype=np.float32),
           "sum": np.add(_TINY, _TINY, dtype=np.float32)}
    bad = [k for k, v in got.items() if not np.all(v.view(np.uint32) == _EXPECT[k])]
    if bad:
        raise FloatEnvironmentError(
            f"float32 arithmetic flushes subnormals to zero in this process ({', '.join(bad)} probe failed: "
            "flush-to-zero or denormals-are-zero is on, e.g. set by a library built with -ffast-math); "
            "nwcodec decoding must preserve subnormals to be bit-exact")
