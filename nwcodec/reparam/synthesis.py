"""Re-export of the torch-free parameter decoders, which live in :mod:`nwcodec.decoders`."""
from __future__ import annotations

from nwcodec.decoders import DECODERS, synthesize
from nwcodec.decoders.dct import dct_basis, dct_matrix
from nwcodec.decoders.dct_table import DCT_II_BITS

__all__ = ["DECODERS", "DCT_II_BITS", "dct_basis", "dct_matrix", "synthesize"]
