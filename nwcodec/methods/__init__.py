"""Compression methods as library calls, each writing one ``.nwc`` (torch on the sender only).

* :func:`deep_compression` — prune → retrain → k-means share → fine-tune centroids → ANS (``codebook``).
* :func:`opq` / :func:`opq_post_training` — analytic per-layer pruning ratios and steps, then fine-tuning.
* :func:`lc` / :func:`lc_post_training` — LC additive combinations (quant/low-rank/sparse ``sum`` tensors).
* :func:`auto_post_training` — per-tensor choice among all of them by rate–distortion slope.

Each accepts any torch classifier (its ≥2-D weights are compressed, the rest coded bit-exactly) and a
data loader of ``(x, y)`` batches; the receiver decodes with numpy + constriction only.
"""
from .auto import auto_post_training
from .deep_compression import DCConfig, deep_compression
from .lc import REFERENCE as LC_REFERENCE
from .lc import Scheme, lc, lc_post_training
from .opq import opq, opq_allocate, opq_post_training

__all__ = ["DCConfig", "deep_compression", "opq", "opq_allocate", "opq_post_training", "Scheme", "lc",
           "LC_REFERENCE", "lc_post_training", "auto_post_training"]
