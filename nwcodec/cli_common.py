"""Shared pieces of the CLI: typed option validators, one-line usage errors, progress lines."""
from __future__ import annotations

import argparse
import math
import re
import sys
import time
from typing import Callable

SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3, "kib": 1024, "mib": 1024 ** 2,
              "gib": 1024 ** 3}
USAGE_EXIT = 2


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(USAGE_EXIT)


def number(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
           integer: bool = False) -> Callable[[str], float]:
    """An argparse ``type`` accepting a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    def parse(text: str) -> float:
        try:
            v = int(text) if integer else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if integer else 'a number'}, got {text!r}")
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if lo is not None and (v < lo or (lo_open and v == lo)):
            raise argparse.ArgumentTypeError(f"must be {'>' if lo_open else '≥'} {lo:g}, got {text}")
        if hi is not None and v > hi:
            raise argparse.ArgumentTypeError(f"must be ≤ {hi:g}, got {text}")
        return v
    parse.__name__ = "integer" if integer else "number"
    return parse


def byte_size(text: str) -> int:
    """``40KB``, ``1.5MB``, ``512KiB`` or a plain byte count (KB = 1000 bytes)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else None
    if not m or unit not in SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 40KB, 1.5MB or 50000, got {text!r}")
    n = int(float(m.group(1)) * SIZE_UNITS[unit])
    if n < 64:
        raise argparse.ArgumentTypeError(f"a target size under 64 bytes cannot hold a stream, got {text!r}")
    return n


def fidelity(text: str) -> str:
    """``30dB`` or a cosine in (0, 1); checked here, converted by :mod:`nwcodec.codec.targets`."""
    from .codec.targets import fidelity_to_distortion
    from .errors import InputError

    try:
        fidelity_to_distortion(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def status(line: str) -> None:
    """A progress line on stderr (flushed, so it shows when piped too)."""
    print(line, file=sys.stderr, flush=True)


class Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __str__(self) -> str:
        return f"{time.perf_counter() - self.t0:.2f} s"
