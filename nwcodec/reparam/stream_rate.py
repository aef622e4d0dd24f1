"""The rate of the whole coded stream, not only of the latents.

:func:`estimate_stream` breaks the bits a reparameterized model will cost as a stream
(:func:`nwcodec.encode`) into: latents under their learned priors, decoder params (float32),
the tensors that are not reparameterized (e.g. a field's head and biases, at the writer's own
lossless cost), the prior tables, and the header and framing. :func:`stream_rate_bits` is the
training rate: the differentiable latent bits (:func:`~nwcodec.reparam.rate.rate_bits`) plus that
side information as a constant, so ``lam * bits / n`` penalizes what is actually sent.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from nwcodec.bitstream import strict_json
from nwcodec.codec import encode_latent_model
from nwcodec.codec.encoder import DEFAULT_SEGMENT
from nwcodec.entropy import ideal_bits, table_for_pmf, write_description
from nwcodec.reparam.export import export_latents
from nwcodec.reparam.rate import rate_bits

CHUNK_BYTES = 12          # u32 length | type[4] | u32 crc
SEGMENT_BYTES = 12        # three uvarints and the ANS coder's final state, per segment (typical)


@dataclass(frozen=True)
class StreamEstimate:
    """Estimated bits of a model's stream, by part. ``latent_bits``: the rounded latents under the tables
    the writer stores (the learned priors made integer, escapes with their varints): what is coded.
    ``prior_bits``: the same latents under the priors themselves, as the training rate counts them."""

    latent_bits: float
    prior_bits: float
    param_bits: float
    plain_bits: float
    table_bits: float
    header_bits: float

    @property
    def side_bits(self) -> float:
        """Everything but the latents (constant with respect to the latents)."""
        return self.param_bits + self.plain_bits + self.table_bits + self.header_bits

    @property
    def total_bits(self) -> float:
        return self.latent_bits + self.side_bits

    def gap(self, coded_bytes: int) -> float:
        """Relative error of the estimate against a coded size: ``(estimate - coded) / coded``."""
        return (self.total_bits / 8 - coded_bytes) / coded_bytes

    @property
    def training_bits(self) -> float:
        """What :func:`stream_rate_bits` (without noise) counts: prior bits plus side bits."""
        return self.prior_bits + self.side_bits

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "side_bits": self.side_bits, "total_bits": self.total_bits,
                "training_bits": self.training_bits}


def _svarint_bytes(v: np.ndarray) -> int:
    """Bytes of the zigzag LEB128 varints of ``v`` (escaped values)."""
    z = np.where(v >= 0, 2 * v, -2 * v - 1).astype(np.uint64)
    bits = np.floor(np.log2(np.maximum(z, 1).astype(np.float64))).astype(np.int64) + 1
    return int(((bits + 6) // 7).sum())


def coded_latent_bits(values: np.ndarray, desc) -> float:
    """Bits of ``values`` under table ``desc``: ideal ANS bits plus the escaped values' varints."""
    table = desc.table()
    v = np.asarray(values, dtype=np.int64).ravel()
    esc = v[(v < table.lo) | (v >= table.lo + table.n)]
    return ideal_bits(v, table) + 8.0 * _svarint_bytes(esc)


def _entry_bytes(name: str, shape: tuple[int, ...], decoder: str, params: dict[str, np.ndarray], table: int) -> int:
    entry = {"name": name, "shape": list(shape), "dtype": "float32", "coding": "latent", "decoder": decoder,
             "params": {k: list(v.shape) for k, v in params.items()}, "table": table}
    return len(strict_json.dumps(entry)) + 1


def estimate_stream(model: nn.Module, segment_size: int = DEFAULT_SEGMENT) -> StreamEstimate:
    """Bits of the stream ``nwcodec.encode(model)`` writes (plain ``HEAD``; a ``ZHDR`` is a little smaller)."""
    latents, priors, plain = export_latents(model)
    with torch.no_grad():
        prior_bits = float(rate_bits(model, noisy=False))
    latent_bits = 0.0
    param_bits = 32.0 * sum(np.asarray(v).size for lt in latents for v in lt.params.values())
    empty = len(encode_latent_model([], {}, {}, compress_header=False))
    plain_bits = 8.0 * (len(encode_latent_model([], {}, plain, compress_header=False)) - empty) if plain else 0.0
    tables, header = {}, 0
    for lt in latents:
        if lt.prior not in tables:
            values = np.concatenate([m.latent.ravel() for m in latents if m.prior == lt.prior]).astype(np.int64)
            spec = priors[lt.prior]
            desc = table_for_pmf(spec.pmf, spec.lo, values)
            tables[lt.prior] = (len(tables), len(write_description(desc)))
            latent_bits += coded_latent_bits(values, desc)
        segments = max(1, math.ceil(lt.latent.size / segment_size))
        header += (_entry_bytes(lt.name, tuple(lt.latent.shape), lt.decoder, lt.params, tables[lt.prior][0])
                   + CHUNK_BYTES + 2 + SEGMENT_BYTES * segments)
    table_bits = 8.0 * sum(size + CHUNK_BYTES for _, size in tables.values())
    return StreamEstimate(latent_bits, prior_bits, param_bits, plain_bits, table_bits, 8.0 * header)


def stream_rate_bits(model: nn.Module, noisy: bool = True, side_bits: float | None = None) -> Tensor:
    """Training rate of the whole stream: differentiable latent bits plus the side bits (constant).

    ``side_bits`` (e.g. from a recent :func:`estimate_stream`) saves re-estimating them each step.
    """
    side = estimate_stream(model).side_bits if side_bits is None else side_bits
    return rate_bits(model, noisy=noisy) + side


class StreamRate:
    """``rate_fn`` for training loops: :func:`stream_rate_bits` with the side bits re-estimated every
    ``refresh`` calls (they change slowly: tables and the float tensors)."""

    def __init__(self, model: nn.Module, refresh: int = 200) -> None:
        self.model, self.refresh, self.calls, self.side = model, max(1, refresh), 0, 0.0

    def __call__(self) -> Tensor:
        if self.calls % self.refresh == 0:
            with torch.no_grad():
                self.side = estimate_stream(self.model).side_bits
        self.calls += 1
        return stream_rate_bits(self.model, noisy=True, side_bits=self.side)
