"""``latent``: an EPR integer latent and the float32 params of its parameter decoder.

HEAD keys: ``name shape dtype coding decoder params table``; ``decoder`` names an entry of
:mod:`nwcodec.decoders`, whose ``check`` validates ``params`` (an object of at most 16
``name → shape``) against ``shape`` at parse time. Payload after the index: each param in HEAD
order as finite ``f32[prod(shape)]``, then a segment list of the latent (``numel`` integers).
The tensor is ``decoder.synthesize(latent, params)``, cast to ``dtype``.
"""
from __future__ import annotations

import math

import numpy as np

from ..bitstream.binary import Reader
from ..bitstream.limits import Limits
from ..decoders import get_decoder
from ..errors import MalformedError
from . import register
from .base import (DecodeSource, TensorPlan, WorkUnit, decode_list, header_int, header_shape, read_finite_f32,
                   scan_segment_list, whole_unit)

MAX_PARAMS = 16


def synthesize_into(decoder: str, q: np.ndarray, params: dict[str, np.ndarray], out: np.ndarray,
                    plan: TensorPlan) -> None:
    """``out[:] = synthesize(...)`` after checking the decoder kept the shape."""
    with np.errstate(over="ignore", invalid="ignore"):  # IEEE overflow (and inf - inf) is the specified result
        w = get_decoder(decoder).synthesize(q.reshape(plan.entry["shape"]), params)
    if w.shape != tuple(plan.entry["shape"]):
        raise MalformedError(f"{plan.what}: decoder produced shape {w.shape}, header says {plan.entry['shape']}")
    out[:] = w.reshape(-1)


class LatentCoding:
    """Integer latent + parameter decoder (EPR)."""

    name = "latent"
    keys = frozenset({"name", "shape", "dtype", "coding", "decoder", "params", "table"})
    float_only = True

    def validate(self, entry: dict, n_tables: int, limits: Limits) -> None:
        name = entry["name"]
        header_int(entry["table"], f"table of {name!r}", 0, n_tables - 1)
        if not isinstance(entry["decoder"], str):
            raise MalformedError(f"HEAD: {name!r}: decoder must be a string")
        params = entry["params"]
        if not isinstance(params, dict) or len(params) > MAX_PARAMS:
            raise MalformedError(f"HEAD: {name!r}: params must be an object of at most {MAX_PARAMS} shapes")
        entry["params"] = {k: header_shape(v, f"param {k!r} of {name!r}", limits) for k, v in params.items()}
        try:
            get_decoder(entry["decoder"]).check(tuple(entry["shape"]), dict(entry["params"]))
        except MalformedError as exc:
            raise MalformedError(f"HEAD: {name!r}: {exc}") from None

    def tables(self, entry: dict) -> list[int]:
        return [entry["table"]]

    def plan(self, plan: TensorPlan, r: Reader) -> None:
        for k, s in plan.entry["params"].items():
            plan.fields[k] = read_finite_f32(r, math.prod(s), f"{plan.what}: param {k!r}").reshape(s)
        plan.lists = [scan_segment_list(r, plan.numel, plan.what)]

    def units(self, plan: TensorPlan, max_elements: int) -> list[WorkUnit]:
        return whole_unit(plan)

    def read_latent(self, plan: TensorPlan, src: DecodeSource) -> tuple[str, dict[str, np.ndarray], np.ndarray]:
        """Decoder name, float32 params and the int32 latent (shape ``shape``), no synthesis."""
        q = decode_list(plan, 0, src.table(plan.entry["table"]))
        return plan.entry["decoder"], dict(plan.fields), q.reshape(plan.entry["shape"])

    def decode_unit(self, plan: TensorPlan, unit: WorkUnit, out: np.ndarray, src: DecodeSource) -> None:
        decoder, params, q = self.read_latent(plan, src)
        synthesize_into(decoder, q, params, out, plan)


LATENT = register(LatentCoding())
