"""Entropy-penalized reparameterization (Oktay et al., ICLR 2020) for any PyTorch model.

Importing this package does not import torch: names are loaded lazily, so the numpy-only
:mod:`nwcodec.reparam.synthesis` stays usable by a torch-free receiver.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "synthesize": "nwcodec.reparam.synthesis",
    "ReparamConfig": "nwcodec.reparam.config",
    "reparameterize": "nwcodec.reparam.model_reparam",
    "strip": "nwcodec.reparam.model_reparam",
    "is_reparameterized": "nwcodec.reparam.model_reparam",
    "param_groups": "nwcodec.reparam.model_reparam",
    "latent_decoders": "nwcodec.reparam.model_reparam",
    "num_model_params": "nwcodec.reparam.model_reparam",
    "rate_bits": "nwcodec.reparam.rate",
    "epr_loss": "nwcodec.reparam.rate",
    "estimate_stream": "nwcodec.reparam.stream_rate",
    "stream_rate_bits": "nwcodec.reparam.stream_rate",
    "StreamRate": "nwcodec.reparam.stream_rate",
    "export_latents": "nwcodec.reparam.export",
    "estimated_bits": "nwcodec.reparam.export",
    "bits_under_priors": "nwcodec.reparam.export",
    "DeepFactorizedPrior": "nwcodec.reparam.priors",
    "LogisticPrior": "nwcodec.reparam.priors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nwcodec.reparam' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
