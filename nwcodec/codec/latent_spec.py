"""What a trained (reparameterized) model hands to the codec, and what the receiver rebuilds.

Torch-free: the receiver imports this. A :class:`LatentTensor` is one weight tensor stored as an
integer latent plus the float32 parameters of its *parameter decoder*; a :class:`PriorSpec` is a
learned probability model over integers, turned into an integer table by ``nwcodec.entropy``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PriorSpec:
    """A learned prior over integers: ``pmf[i]`` is P(latent == lo + i) (float64, sums to ≤ 1).

    Mass outside ``[lo, lo + len(pmf))`` is coded through the table's escape symbol.
    ``table`` (an ``nwcodec.entropy`` TableDescription), when given, is written as is for
    ``table_mode="prior"`` (the entropy model's own table, so estimate and stream agree).
    """

    pmf: np.ndarray
    lo: int
    table: object = None


@dataclass
class LatentTensor:
    """One weight tensor as ``weight = synthesize(decoder, latent, params)``.

    ``latent`` is an integer array (any shape; its shape is the weight's shape unless the
    decoder says otherwise); ``params`` are float32 arrays the decoder needs (e.g. ``scale``,
    ``offset`` for ``"affine"``); ``prior`` names an entry of the ``priors`` dict handed to
    the encoder alongside.
    """

    name: str
    latent: np.ndarray
    decoder: str
    params: dict[str, np.ndarray] = field(default_factory=dict)
    prior: str = ""
    shape: tuple[int, ...] = ()
    dtype: str = "float32"
