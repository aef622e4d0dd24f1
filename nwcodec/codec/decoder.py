"""Bitstream → numpy arrays. Needs numpy and constriction only (never torch)."""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from ..bitstream import DEFAULT_LIMITS, Limits, strict_json, unpack
from ..bitstream.grammar import Slot, check_order
from ..bitstream.limits import table_work
from ..codings import get_coding
from ..codings.dtypes import out_nbytes
from ..codings.features import check_mthd
from ..codings.latent import LATENT
from ..decoders.fp_env import check_subnormals
from ..entropy import FreqTable, read_description
from ..entropy.describe import TableDescription
from ..errors import BaseMismatchError, InputError, LimitExceededError, MalformedError
from .aliases import ALIAS_TYPE, expand, read_aliases
from .head_chunk import HEADER_TYPES, header_json
from .header import validate_header
from .units import decode_serial, plan_tensor, plan_tensors

# The critical chunks of a weights stream, in order (FORMAT.md 6.1): one header, an optional base hash, an optional
# methods chunk, the tables, the tensors, optional aliases. Ancillary chunks (``note``) may come anywhere.
WEIGHTS_GRAMMAR = (Slot(HEADER_TYPES, 1, 1), Slot(("BASE",)), Slot(("MTHD",)), Slot(("TABL",), 0, None),
                   Slot(("TENS",), 0, None), Slot((ALIAS_TYPE,)))
KNOWN_CHUNKS = frozenset({t for slot in WEIGHTS_GRAMMAR for t in slot.types} | {"note"})
BASE_HASH_BYTES = 32
MAX_SYMBOLS_PER_BYTE = 1 << 19   # bomb guard: a segment (≤ 2^20 symbols) takes ≥ 3 bytes, so valid streams pass
FREE_ELEMENTS = 1 << 20
PARALLEL_MIN_ELEMENTS = 1 << 22


@dataclass
class ParsedStream:
    """A validated stream: header, tables and one payload per tensor, nothing decoded yet."""

    version: tuple[int, int]
    header: dict
    tensors: list[dict]
    descriptions: list[TableDescription]
    payloads: list[memoryview]
    notes: list[str]
    skipped: list[str]
    size: int
    base_sha256: bytes | None = None
    header_bytes: int = 0
    aliases: dict[str, str] | None = None   # format 1.3 tied names: alias -> coded tensor
    _tables: dict[int, FreqTable] | None = None

    def table(self, k: int) -> FreqTable:
        """The frequency table of ``TABL`` chunk ``k`` (built once)."""
        if self._tables is None:
            self._tables = {}
        if k not in self._tables:
            self._tables[k] = self.descriptions[k].table()
        return self._tables[k]

    def index(self, name: str) -> int:
        name = (self.aliases or {}).get(name, name)
        for i, t in enumerate(self.tensors):
            if t["name"] == name:
                return i
        raise KeyError(name)


def parse(data: bytes | bytearray | memoryview, limits: Limits = DEFAULT_LIMITS) -> ParsedStream:
    """Check framing, CRCs, header and tables; raises a :class:`BitstreamError` subclass."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"expected bytes, got {type(data).__name__}")
    c = unpack(data, known=KNOWN_CHUNKS, limits=limits)
    types = [ch.type for ch in c.chunks]
    if not types or types[0] not in HEADER_TYPES:
        raise MalformedError("stream must start with exactly one header chunk (HEAD or ZHDR)")
    counts = check_order(types, WEIGHTS_GRAMMAR)
    n_tab, n_ten = counts.get("TABL", 0), counts.get("TENS", 0)
    header = strict_json.loads(header_json(c.chunks[0], limits), limits)
    listed = header.get("tensors")
    if isinstance(listed, list) and len(listed) <= limits.max_tensors and len(listed) != n_ten:
        raise MalformedError(f"HEAD lists {len(listed)} tensors, stream has {n_ten} TENS chunks")
    tensors = validate_header(header, limits, n_tab)
    if n_ten != len(tensors):
        raise MalformedError(f"HEAD lists {len(tensors)} tensors, stream has {n_ten} TENS chunks")
    check_mthd(next((ch.data for ch in c.chunks if ch.type == "MTHD"), None), tensors)
    check_decoded_size(tensors, len(data), limits)
    descs = read_tables([ch.data for ch in c.chunks if ch.type == "TABL"], limits)
    payloads = [memoryview(ch.data) for ch in c.chunks if ch.type == "TENS"]
    notes = [_note(ch.data) for ch in c.chunks if ch.type == "note"]
    base = next((bytes(ch.data) for ch in c.chunks if ch.type == "BASE"), None)
    if base is not None and len(base) != BASE_HASH_BYTES:
        raise MalformedError(f"BASE chunk must hold a {BASE_HASH_BYTES}-byte SHA-256, got {len(base)} bytes")
    if (base is not None) != any(getattr(get_coding(t["coding"]), "needs_base", False) for t in tensors):
        raise MalformedError("residual tensors and a BASE chunk must come together")
    alis = next((ch.data for ch in c.chunks if ch.type == ALIAS_TYPE), None)
    aliases = None if alis is None else read_aliases(alis, [t["name"] for t in tensors], limits)
    if any(getattr(get_coding(t["coding"]), "needs_level", False) for t in tensors):
        raise MalformedError("refine tensors belong to later levels of a layered stream (format 1.4, LEVL)")
    return ParsedStream(c.version, header, tensors, descs, payloads, notes, c.skipped, len(data), base,
                        len(c.chunks[0].data), aliases)


def check_decoded_size(tensors: list[dict], stream_bytes: int, limits: Limits) -> None:
    """Expansion guard (elements per stream byte) and the absolute cap on decoded bytes."""
    total = sum(math.prod(t["shape"]) for t in tensors)
    if total > FREE_ELEMENTS + MAX_SYMBOLS_PER_BYTE * stream_bytes:
        raise LimitExceededError(f"{total} elements from {stream_bytes} bytes exceeds the expansion limit")
    nbytes = sum(out_nbytes(t["dtype"], math.prod(t["shape"])) for t in tensors)
    if nbytes > limits.max_decoded_bytes:
        raise LimitExceededError(f"the stream decodes to {nbytes} bytes, more than max_decoded_bytes="
                                 f"{limits.max_decoded_bytes} (a receiver may raise it)")


def read_tables(payloads: list[bytes], limits: Limits) -> list[TableDescription]:
    """Table descriptions, refused as soon as their build work passes ``max_table_work``."""
    descs, work = [], 0
    for data in payloads:
        descs.append(read_description(data, limits))
        work += table_work(descs[-1].n)
        if work > limits.max_table_work:
            raise LimitExceededError(f"tables need more than max_table_work={limits.max_table_work} units "
                                     f"of table work (table {len(descs) - 1} of {len(payloads)})")
    return descs


def _note(data: bytes) -> str:
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError("note chunk is not UTF-8") from None


class StreamSource:
    """Tables of ``ps`` and, for a delta stream, latents of its checked base (a DecodeSource)."""

    def __init__(self, ps: ParsedStream, base: ParsedStream | None = None) -> None:
        self.ps, self.base = ps, base

    def table(self, k: int) -> FreqTable:
        return self.ps.table(k)

    def base_latent(self, name: str, shape: tuple, what: str) -> tuple[str, dict[str, np.ndarray], np.ndarray]:
        base = self.base
        if base is None:
            raise BaseMismatchError(f"{what}: residual tensor needs its base stream")
        try:
            j = base.index(name)
        except KeyError:
            raise BaseMismatchError(f"{what}: the base has no tensor {name!r}") from None
        if base.tensors[j]["coding"] != "latent" or tuple(base.tensors[j]["shape"]) != tuple(shape):
            raise BaseMismatchError(f"{what}: base tensor {name!r} is not a latent of the same shape")
        return latent_of_entry(base, j)


def decode_entry(ps: ParsedStream, i: int, base: ParsedStream | None = None) -> np.ndarray:
    """Decode tensor ``i`` of a parsed stream (``base``: the checked base of a delta stream)."""
    check_subnormals()
    plans = plan_tensors(ps.tensors, ps.payloads, [i])
    return next(iter(decode_serial(plans, StreamSource(ps, base)).values()))


def latent_of_entry(ps: ParsedStream, i: int) -> tuple[str, dict[str, np.ndarray], np.ndarray]:
    """Decoder name, float32 params and integer latent of ``latent`` tensor ``i`` (no synthesis)."""
    if ps.tensors[i]["coding"] != "latent":
        raise InputError(f"tensor {ps.tensors[i]['name']!r} is not a latent tensor")
    plan = plan_tensor(ps.tensors[i], i, ps.payloads[i])
    return LATENT.read_latent(plan, StreamSource(ps))


def check_base(ps: ParsedStream, base: bytes | bytearray | memoryview | None,
               limits: Limits = DEFAULT_LIMITS) -> ParsedStream | None:
    """Parse ``base`` for delta stream ``ps`` after checking it is the base ``ps`` names."""
    if ps.base_sha256 is None:
        return None
    if base is None:
        raise BaseMismatchError(f"this stream is a delta on base sha256 {ps.base_sha256.hex()}: pass its base")
    got = hashlib.sha256(base).digest()
    if got != ps.base_sha256:
        raise BaseMismatchError(f"wrong base: stream needs sha256 {ps.base_sha256.hex()}, got {got.hex()}")
    return parse(base, limits)


def decode(data: bytes | bytearray | memoryview, *, names: list[str] | None = None,
           limits: Limits = DEFAULT_LIMITS, workers: int | None = None,
           base: bytes | bytearray | memoryview | None = None, level: int | None = None) -> dict[str, np.ndarray]:
    """Decode a weights bitstream to ``{name: array}`` (all tensors, or only ``names``).

    Arrays keep their original dtype (bfloat16 comes back as float32, exactly). Raises a
    :class:`~nwcodec.errors.BitstreamError` subclass for any fault in the data. ``workers``
    processes decode in parallel (default: all cores for streams of ≥ 4M elements, where fork
    is available); the output is identical for every worker count. A delta stream (format 1.1,
    scene packs) needs ``base``, the exact bytes of the base stream it names
    (:class:`~nwcodec.errors.BaseMismatchError` otherwise). A layered stream (format 1.4) decodes
    to its last level, or to ``level`` (from any prefix holding levels ``0..level``; FORMAT.md 6.19).
    """
    from .levels_frame import is_layered

    if level is not None or is_layered(data):
        from .levels import decode_layered

        return decode_layered(data, level=level, names=names, limits=limits, base=base)
    ps = parse(data, limits)
    check_subnormals()
    base_ps = check_base(ps, base, limits)
    wanted = list(range(len(ps.tensors))) if names is None else sorted({_find(ps, n) for n in names})
    plans = plan_tensors(ps.tensors, ps.payloads, wanted)
    src = StreamSource(ps, base_ps)
    n_workers = _workers(ps, wanted, workers)
    if n_workers > 1:
        from .parallel import decode_parallel

        arrays = decode_parallel(plans, src, n_workers)
    else:
        arrays = decode_serial(plans, src)
    if names is None:
        return expand(arrays, ps.aliases or {})
    return {n: arrays[ps.tensors[_find(ps, n)]["name"]] for n in names}


def _workers(ps: ParsedStream, wanted: list[int], workers: int | None) -> int:
    if workers is not None:
        return max(1, int(workers))
    import multiprocessing as mp
    import os

    total = sum(math.prod(ps.tensors[i]["shape"]) for i in wanted)
    if total < PARALLEL_MIN_ELEMENTS or "fork" not in mp.get_all_start_methods():
        return 1
    return min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)


def _find(ps: ParsedStream, name: str) -> int:
    try:
        return ps.index(name)
    except KeyError:
        raise InputError(f"no tensor named {name!r} in the stream") from None

