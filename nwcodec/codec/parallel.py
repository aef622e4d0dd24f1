"""Multi-process decoding: constriction holds the GIL, so parallel decoding needs processes.

The work units come from the same planning step as serial decoding (:mod:`nwcodec.codec.units`),
and each unit is decoded by the same coding reader into its slice of one shared anonymous mapping,
so parallel and serial decoding cannot diverge. Units are balanced by cost over forked workers;
the parent does one share itself. Errors in a worker come back with their class.
"""
from __future__ import annotations

import math
import mmap
import multiprocessing as mp
import os

import numpy as np

from .. import errors
from ..codings import TensorPlan, WorkUnit
from ..codings.base import DecodeSource
from ..codings.dtypes import out_dtype
from .units import run_units, work_units

MIN_UNIT_ELEMENTS = 1 << 18


def _shares(units: list[WorkUnit], workers: int) -> list[list[WorkUnit]]:
    """Longest-processing-time-first balancing of units over ``workers``."""
    shares: list[list[WorkUnit]] = [[] for _ in range(workers)]
    load = [0] * workers
    for u in sorted(units, key=lambda u: -u.cost):
        w = int(np.argmin(load))
        shares[w].append(u)
        load[w] += u.cost
    return shares


def _child(plans, share, outputs, src, conn) -> None:
    try:
        run_units(plans, share, outputs, src)
        conn.send(None)
    except errors.NwcodecError as exc:
        conn.send((type(exc).__name__, str(exc)))
    except Exception as exc:  # anything else is reported as corrupt data, with its text
        conn.send(("MalformedError", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()
        os._exit(0)


def _warm_tables(plans: list[TensorPlan], src: DecodeSource) -> None:
    """Build every table once before forking (workers inherit them)."""
    from ..codings import get_coding

    for p in plans:
        for k in get_coding(p.entry["coding"]).tables(p.entry):
            src.table(k)


def decode_parallel(plans: list[TensorPlan], src: DecodeSource, workers: int) -> dict[str, np.ndarray]:
    """Decode planned tensors on ``workers`` processes (fork); the same bytes as serial decoding."""
    total_elements = sum(p.numel for p in plans)
    units = work_units(plans, max(MIN_UNIT_ELEMENTS, math.ceil(total_elements / (2 * workers))))
    offsets, total = {}, 0
    for p in plans:
        offsets[p.index] = total
        total += -(-p.numel * out_dtype(p.entry["dtype"]).itemsize // 8) * 8
    buf = mmap.mmap(-1, max(total, 1))
    outputs = {p.index: np.frombuffer(buf, dtype=out_dtype(p.entry["dtype"]), count=p.numel, offset=offsets[p.index])
               for p in plans}
    by_index = {p.index: p for p in plans}
    _warm_tables(plans, src)
    shares = _shares(units, workers)
    ctx = mp.get_context("fork")
    procs = []
    for share in shares[1:]:
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(by_index, share, outputs, src, send), daemon=True)
        proc.start()
        send.close()
        procs.append((proc, recv))
    failure = None
    try:
        run_units(by_index, shares[0], outputs, src)
    except errors.NwcodecError as exc:
        failure = exc
    for proc, recv in procs:
        try:
            msg = recv.recv()
        except EOFError:
            msg = ("MalformedError", "decoder worker died")
        proc.join()
        if msg is not None and failure is None:
            failure = getattr(errors, msg[0], errors.MalformedError)(msg[1])
    if failure is not None:
        raise failure
    return {p.entry["name"]: outputs[p.index].reshape(p.entry["shape"]) for p in plans}
