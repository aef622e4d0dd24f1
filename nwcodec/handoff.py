"""``nwcodec.encode``: the hand-off from the method layer to the writer.

A module reparameterized by :mod:`nwcodec.reparam` (EPR) is asked for its integer latents,
priors and remaining float tensors, which go to the writer as :class:`LatentTensor` s
(:func:`nwcodec.codec.encode_latent_model`); anything else goes to the post-training writer
(:func:`nwcodec.codec.encode`). The writer itself never imports the method layer.
"""
from __future__ import annotations

from typing import Any

from .codec.encoder import _is_reparameterized_module, encode as encode_weights

_LATENT_OPTIONS = ("meta", "segment_size", "kind", "extra", "compress_header")


def encode(weights: Any, **options: Any) -> bytes:
    """Compress a model to bytes (see :func:`nwcodec.codec.encode` for ``options``).

    EPR-reparameterized modules are coded exactly from their integer latents; each latent group gets
    the cheaper (table + payload) of its entropy model's integer table and the empirical table of
    its latents, with one ``note`` when empirical tables win (:func:`nwcodec.reparam.stream.
    choose_group_tables`). Only ``meta``, ``segment_size``, ``kind``, ``extra`` and
    ``compress_header`` apply to them.
    """
    if _is_reparameterized_module(weights):
        from .reparam.stream import encode_model

        return encode_model(weights, **{k: v for k, v in options.items() if k in _LATENT_OPTIONS})[0]
    return encode_weights(weights, **options)
