"""``nwcodec.encode``: the hand-off from the method layer to the writer.

A module reparameterized by :mod:`nwcodec.reparam` (EPR) is asked for its integer latents,
priors and remaining float tensors, which go to the writer as :class:`LatentTensor` s
(:func:`nwcodec.codec.encode_latent_model`); anything else goes to the post-training writer
(:func:`nwcodec.codec.encode`). The writer itself never imports the method layer.
"""
from __future__ import annotations

from typing import Any

from .codec.encoder import _is_reparameterized_module, encode as encode_weights, encode_latent_model

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
        from .reparam.export import export_latents
        from .reparam.stream import choose_group_tables

        latents, priors, plain = export_latents(weights)
        chosen, _, notes = choose_group_tables(weights, latents, priors)
        opts = {k: v for k, v in options.items() if k in _LATENT_OPTIONS}
        return encode_latent_model(latents, chosen, plain, notes=notes, **opts)
    return encode_weights(weights, **options)
