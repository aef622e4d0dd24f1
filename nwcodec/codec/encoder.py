"""Model → bitstream: post-training quantization, lossless coding, and trained EPR latents."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import numpy as np

from ..bitstream import DEFAULT_LIMITS, Chunk, Writer, pack, strict_json
from ..bitstream.limits import table_work
from ..entropy import choose_table, table_for_pmf, write_description
from ..entropy.choose import DEFAULT_MAX_ALPHABET
from ..entropy.describe import TableDescription
from ..errors import InputError, LimitExceededError
from .allocate import MAX_STEP_OVER_RMS
from .head_chunk import header_chunk
from ..codings.dtypes import FLOAT_DTYPES
from .latent_spec import LatentTensor, PriorSpec
from .payloads import byte_planes, raw_bytes, write_segments
from .quantize import quantize, rel_error_for_quality, step_sizes
from .aliases import ALIAS_MINOR, alias_chunk
from .sources import load_source

DEFAULT_SEGMENT = 1 << 20
MIN_QUANT_ELEMENTS = 64
# Table budgets tried in turn until the stream's tables fit Limits.max_table_work: (largest table alphabet,
# fewest elements of a tensor coded as byte planes; smaller lossless tensors are then stored raw, needing no table).
TABLE_BUDGETS = ((DEFAULT_MAX_ALPHABET, 0), (2048, 0), (1024, 0), (1024, 1 << 12), (1024, 1 << 14),
                 (512, 1 << 16), (256, 1 << 18), (128, 1 << 20), (64, 1 << 62))


class _StreamBuilder:
    """Collects tables and tensor payloads in stream order."""

    def __init__(self, kind: str, segment_size: int, max_alphabet: int = DEFAULT_MAX_ALPHABET,
                 min_bytes_elements: int = 0) -> None:
        self.kind = kind
        self.segment_size = segment_size
        self.max_alphabet = max_alphabet
        self.min_bytes_elements = min_bytes_elements
        self.progress = False
        self.tables: list[TableDescription] = []
        self.entries: list[dict] = []
        self.payloads: list[bytes] = []

    def add_table(self, d: TableDescription, share: bool = False) -> int:
        """Index of table ``d`` in the stream; with ``share`` an identical description already
        stored is reused (latent groups; byte planes need their tables consecutive)."""
        if share and d in self.tables:
            return self.tables.index(d)
        self.tables.append(d)
        return len(self.tables) - 1

    def _start(self, entry: dict) -> Writer:
        w = Writer()
        w.uvarint(len(self.entries))
        self.entries.append(entry)
        return w

    def add_raw(self, name: str, arr: np.ndarray, dtype: str) -> None:
        w = self._start({"name": name, "shape": list(arr.shape), "dtype": dtype, "coding": "raw"})
        w.bytes(raw_bytes(arr, dtype))
        self.payloads.append(w.getvalue())

    def add_bytes(self, name: str, arr: np.ndarray, dtype: str) -> None:
        """Lossless byte-plane coding, or raw when that is no larger (or the tensor is below the budget's size)."""
        if arr.size < self.min_bytes_elements:
            self.add_raw(name, arr, dtype)
            return
        planes = byte_planes(arr, dtype)
        descs = [choose_table(p, max_alphabet=256) for p in planes]
        first = len(self.tables)
        w = Writer()
        w.uvarint(len(self.entries))
        for p, d in zip(planes, descs):
            write_segments(w, p, d.table(), self.segment_size)
        coded = len(w.getvalue()) + sum(len(write_description(d)) + 12 for d in descs)
        if coded >= arr.size * planes.shape[0]:
            self.add_raw(name, arr, dtype)
            return
        for d in descs:
            self.add_table(d)
        self.entries.append({"name": name, "shape": list(arr.shape), "dtype": dtype, "coding": "bytes",
                             "tables": list(range(first, first + len(descs)))})
        self.payloads.append(w.getvalue())

    def add_quant(self, name: str, arr: np.ndarray, dtype: str, rel_error: float,
                  per_channel: bool, rdo: float, step: float | None = None) -> None:
        steps = step_sizes(arr, rel_error, per_channel)
        if step is not None and steps.size == 1:  # explicit step, used exactly (as float32)
            steps = np.array([step], dtype=np.float32)
        elif step is not None:  # per channel: keep the channels' ratios, geometric mean = step
            steps = (steps * (step / np.exp(np.mean(np.log(steps))))).astype(np.float32)
        q = quantize(arr, steps, rdo)
        table = self.add_table(choose_table(q, max_alphabet=self.max_alphabet))
        w = self._start({"name": name, "shape": list(arr.shape), "dtype": dtype, "coding": "quant",
                         "axis": 0 if per_channel else None, "table": table})
        w.array(steps, "<f4")
        write_segments(w, q, self.tables[table].table(), self.segment_size)
        self.payloads.append(w.getvalue())

    def add_dquant(self, name: str, arr: np.ndarray, dtype: str, rel_error: float, per_channel: bool,
                   lam: float, step: float | None = None) -> None:
        """Dependent quantization (format 1.5, ``dquant``): trellis levels under the table that codes them."""
        from .trellis import DQ_STEP_RATIO, dq_quantize

        steps = step_sizes(arr, rel_error, per_channel)
        if step is not None and steps.size == 1:
            steps = np.array([step], dtype=np.float64)
        elif step is not None:
            steps = steps * (step / np.exp(np.mean(np.log(steps))))
        steps = (np.asarray(steps, dtype=np.float64) * DQ_STEP_RATIO).astype(np.float32)
        bshape = (-1,) + (1,) * (arr.ndim - 1) if steps.size > 1 else ()
        x = arr.astype(np.float64) / steps.astype(np.float64).reshape(bshape)
        q = dq_quantize(x.ravel(), lam, segment=self.segment_size, max_alphabet=self.max_alphabet)
        table = self.add_table(choose_table(q, max_alphabet=self.max_alphabet))
        w = self._start({"name": name, "shape": list(arr.shape), "dtype": dtype, "coding": "dquant",
                         "axis": 0 if per_channel else None, "table": table})
        w.array(steps, "<f4")
        write_segments(w, q, self.tables[table].table(), self.segment_size)
        self.payloads.append(w.getvalue())

    def add_rowclass(self, name: str, arr: np.ndarray, dtype: str, rel_error: float, per_channel: bool,
                     dq: bool, lam: float, n_classes: int, step: float | None = None) -> bool:
        """Levels coded under per-row table classes (format 1.5, ``rowclass``) when that is smaller than one
        table; returns False (nothing added) otherwise."""
        from ..entropy import ideal_bits
        from .quantize import row_classes
        from .trellis import DQ_STEP_RATIO, dq_quantize

        steps = step_sizes(arr, rel_error, per_channel).astype(np.float64)
        if step is not None and steps.size == 1:
            steps = np.array([step], dtype=np.float64)
        elif step is not None:
            steps = steps * (step / np.exp(np.mean(np.log(steps))))
        steps = (steps * (DQ_STEP_RATIO if dq else 1.0)).astype(np.float32)
        bshape = (-1,) + (1,) * (arr.ndim - 1) if steps.size > 1 else ()
        x = arr.astype(np.float64) / steps.astype(np.float64).reshape(bshape)
        cls = row_classes(arr, n_classes)
        used = np.unique(cls)
        cls = np.searchsorted(used, cls).astype(np.uint8)
        rows = x.reshape(arr.shape[0], -1)
        lists = [rows[cls == c].ravel() for c in range(len(used))]
        if dq:
            levels = [dq_quantize(v, lam, segment=self.segment_size, max_alphabet=self.max_alphabet) for v in lists]
            one = dq_quantize(x.ravel(), lam, segment=self.segment_size, max_alphabet=self.max_alphabet)
        else:
            levels = [np.rint(v).astype(np.int64) for v in lists]
            one = np.rint(x.ravel()).astype(np.int64)
        descs = [choose_table(q, max_alphabet=self.max_alphabet) for q in levels]
        d1 = choose_table(one, max_alphabet=self.max_alphabet)
        cost = sum(ideal_bits(q, d.table()) / 8 + len(write_description(d)) + 12 for q, d in zip(levels, descs))
        if cost + arr.shape[0] >= ideal_bits(one, d1.table()) / 8 + len(write_description(d1)) + 12:
            return False
        first = len(self.tables)
        for d in descs:
            self.add_table(d)
        w = self._start({"name": name, "shape": list(arr.shape), "dtype": dtype, "coding": "rowclass",
                         "axis": 0 if per_channel else None, "tables": list(range(first, first + len(descs))),
                         "dq": bool(dq)})
        w.array(steps, "<f4")
        w.array(cls, "<u1")
        for q, d in zip(levels, descs):
            write_segments(w, q, d.table(), self.segment_size)
        self.payloads.append(w.getvalue())
        return True

    def add_latent(self, lt: LatentTensor, table: int) -> None:
        params = {k: np.asarray(v, dtype=np.float32) for k, v in lt.params.items()}
        shape = list(lt.shape or lt.latent.shape)
        w = self._start({"name": lt.name, "shape": shape, "dtype": lt.dtype, "coding": "latent",
                         "decoder": lt.decoder, "params": {k: list(v.shape) for k, v in params.items()},
                         "table": table})
        for v in params.values():
            w.array(v, "<f4")
        write_segments(w, lt.latent, self.tables[table].table(), self.segment_size)
        self.payloads.append(w.getvalue())

    def add_residual(self, name: str, residual: np.ndarray, table: int) -> None:
        """A latent stored as ``base latent + residual`` (format 1.1; needs a BASE chunk)."""
        w = self._start({"name": name, "shape": list(residual.shape), "dtype": "float32", "coding": "residual",
                         "table": table})
        write_segments(w, residual, self.tables[table].table(), self.segment_size)
        self.payloads.append(w.getvalue())

    def table_work(self) -> int:
        """What building this stream's tables costs a decoder (see ``Limits.max_table_work``)."""
        return sum(table_work(d.n) for d in self.tables)

    def finish(self, extra: dict[str, Any] | None, notes: Iterable[str] = (), base_sha256: bytes | None = None,
               compress_header: bool = True, aliases: dict[str, str] | None = None) -> bytes:
        head = {"kind": self.kind, "tensors": self.entries, "tables": len(self.tables)}
        head.update(extra or {})
        chunks = [header_chunk(strict_json.dumps(head), compress_header)]
        if base_sha256 is not None:
            chunks.append(Chunk("BASE", base_sha256))
        chunks += [Chunk("TABL", write_description(d)) for d in self.tables]
        chunks += [Chunk("TENS", p) for p in self.payloads]
        chunks += [alias_chunk(aliases)] if aliases else []
        chunks += [Chunk("note", n.encode("utf-8")) for n in notes]
        needs_1_1 = base_sha256 is not None or chunks[0].type == "ZHDR"
        minor = max([1 if needs_1_1 else 0, ALIAS_MINOR if aliases else 0]
                    + [_coding_minor(e["coding"]) for e in self.entries])
        return pack(chunks, version=(1, minor))


def _coding_minor(coding: str) -> int:
    """The format minor version that introduced ``coding`` (0 for the 1.0 codings)."""
    from ..codings import get_coding

    return int(getattr(get_coding(coding), "min_minor", 0))


def _within_table_work(kind: str, segment_size: int, fill: Callable[[_StreamBuilder], None],
                       progress: bool = False) -> _StreamBuilder:
    """A builder filled by ``fill`` under the first of ``TABLE_BUDGETS`` whose tables a default decoder
    accepts (``Limits.max_table_work``); usually the first, which changes nothing. Budgets whose
    estimated work (from the first build) is still too high are skipped without building."""
    limit = DEFAULT_LIMITS.max_table_work
    first = None
    for i, (cap, min_bytes) in enumerate(TABLE_BUDGETS):
        if first is not None and _estimated_work(first, cap, min_bytes) > limit:
            continue
        b = _StreamBuilder(kind, segment_size, cap, min_bytes)
        b.progress = progress and i == 0
        fill(b)
        if b.table_work() <= limit:
            return b
        first = first or b
    raise LimitExceededError(f"the stream needs more table work than a default decoder allows "
                             f"(max_table_work={limit}) even with {TABLE_BUDGETS[-1][0]}-value tables and no byte "
                             f"planes: code fewer tensors per stream")


def _estimated_work(b: _StreamBuilder, cap: int, min_bytes: int) -> int:
    """Upper bound on the table work of ``b``'s content rebuilt with alphabets ≤ ``cap`` and byte planes only
    for tensors of at least ``min_bytes`` elements."""
    work, seen = 0, set()
    for e in b.entries:
        if e["coding"] == "bytes":
            if math.prod(e["shape"]) >= min_bytes:
                work += sum(table_work(b.tables[k].n) for k in e["tables"])
        elif "table" in e and e["table"] not in seen:
            seen.add(e["table"])
            work += table_work(min(b.tables[e["table"]].n, cap))
    return work


def _progress(items: list, enabled: bool) -> Iterable:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="encode", unit="tensor")


def encode(weights: Any, *, quality: float = 60.0, rel_error: float | None = None,
           per_channel: bool = False, rdo: float = 0.0, lossless: bool = False,
           min_quant_elements: int = MIN_QUANT_ELEMENTS, segment_size: int = DEFAULT_SEGMENT,
           meta: dict | None = None, notes: Iterable[str] = (), progress: bool = False,
           policy: Callable[[str, np.ndarray], str] | None = None,
           steps: dict[str, float] | None = None, kind: str = "weights",
           extra: dict | None = None, compress_header: bool = True, tie: bool = True,
           dq: bool = False, dq_lambda: float | None = None, row_classes: int = 0,
           allocation: str = "size") -> bytes:
    """Compress a model (module, state dict, or ``.pt``/``.pth``/``.safetensors`` path) to bytes.

    Float tensors with ≥ 2 dims and ≥ ``min_quant_elements`` elements are quantized. ``rel_error`` (default
    from ``quality``: 10^(-Q/40)) sets the mean relative noise (MSE / mean square) of the quantized tensors to
    ``rel_error²``; ``allocation`` spreads it without data (:func:`allocation_rel_errors`): ``"size"`` (default)
    gives each tensor the relative RMS error ``rel_error · sqrt(n_t / mean n)``, so large (redundant) layers get
    coarser steps and small ones finer, at the same summed relative noise; ``"tensor"`` gives every tensor
    ``rel_error`` (per-tensor SNR ≈ Q/2 dB). ``per_channel`` sets steps per output channel. Other float tensors (biases, norms) are coded
    losslessly; integer buffers are stored exactly. ``lossless`` codes every tensor bit-exactly.
    ``policy(name, array)`` may return ``"quant"``, ``"lossless"`` or ``"raw"`` to override;
    ``steps`` gives explicit per-tensor steps (see :mod:`nwcodec.codec.allocate`). ``kind`` and
    ``extra`` (additional top-level header keys) are for container formats built on this one.
    ``compress_header=False`` keeps the plain ``HEAD`` chunk (format 1.0 readers) instead of a
    smaller zlib-compressed ``ZHDR`` (1.1).
    ``dq=True`` codes quantized tensors with dependent (trellis-coded) quantization (``dquant``, format 1.5;
    ``dq_lambda`` weighs rate against distortion in the trellis, default ``trellis.DQ_LAMBDA``).
    ``row_classes=C`` (2…16) codes each quantized tensor of at least ``4·C`` rows under ``C`` tables, one per
    class of rows by RMS (``rowclass``, format 1.5), where that is smaller.
    Tables are kept within what a default decoder accepts (``Limits.max_table_work``).
    Tensors sharing storage (tied weights) are coded once and named again in an ``ALIS`` chunk (format 1.3);
    ``tie=False`` codes each separately. Notes of the source (e.g. a model directory's config.json) are kept.
    Modules reparameterized by :mod:`nwcodec.reparam` go through :func:`nwcodec.encode` instead.
    """
    if _is_reparameterized_module(weights):
        raise InputError("this module is reparameterized (EPR): encode it with nwcodec.encode, which codes its "
                         "integer latents")
    src = load_source(weights, tie=tie)
    arrays, dtypes = src.arrays, src.dtypes
    internals = [k for k in arrays if ".parametrizations." in f".{k}"]
    if internals:
        raise InputError(f"this checkpoint is reparameterized (EPR): {internals[0]!r} is a latent's internals, "
                         f"not a weight. Code it with the stream `nwcodec train` writes beside its summary "
                         f"(model.nwc), or nwcodec.reparam.stream.encode_model(model) on the rebuilt module")
    rel0 = rel_error if rel_error is not None else rel_error_for_quality(quality)
    if not rel0 > 0:
        raise ValueError("rel_error must be positive")
    names = list(arrays)

    def how_of(name: str) -> str:
        arr, dtype = arrays[name], dtypes[name]
        how = policy(name, arr) if policy else None
        if how is None:
            quantizable = dtype in FLOAT_DTYPES and arr.ndim >= 2 and arr.size >= min_quant_elements
            how = "lossless" if dtype in FLOAT_DTYPES and (lossless or not quantizable) else (
                "quant" if dtype in FLOAT_DTYPES else "raw")
        return how

    hows = {name: how_of(name) for name in names}
    rels = allocation_rel_errors({n: arrays[n].size for n in names if hows[n] == "quant"}, rel0, allocation)

    def fill(b: _StreamBuilder) -> None:
        for name in _progress(names, b.progress):
            arr, dtype, how = arrays[name], dtypes[name], hows[name]
            rel = rels.get(name, rel0)
            if (how == "quant" and arr.size and np.isfinite(arr).all() and row_classes > 1
                    and arr.shape[0] >= 4 * row_classes
                    and b.add_rowclass(name, arr, dtype, rel, per_channel, dq, _dq_lambda(dq_lambda),
                                       row_classes, (steps or {}).get(name))):
                pass
            elif how == "quant" and arr.size and np.isfinite(arr).all() and dq:
                b.add_dquant(name, arr, dtype, rel, per_channel, _dq_lambda(dq_lambda), (steps or {}).get(name))
            elif how == "quant" and arr.size and np.isfinite(arr).all():
                b.add_quant(name, arr, dtype, rel, per_channel, rdo, (steps or {}).get(name))
            elif how in ("lossless", "quant") and arr.size and dtype in FLOAT_DTYPES:
                b.add_bytes(name, arr, dtype)
            else:
                b.add_raw(name, arr, dtype)

    b = _within_table_work(kind, segment_size, fill, progress)
    head_extra = dict(extra or {})
    if meta:
        head_extra["meta"] = meta
    return b.finish(head_extra, [*src.notes, *notes], compress_header=compress_header, aliases=src.aliases)


ALLOCATIONS = ("size", "tensor")
MAX_REL_ERROR = MAX_STEP_OVER_RMS / np.sqrt(12.0)   # the cap of allocate.allocate_steps, as a relative error


def allocation_rel_errors(sizes: dict[str, int], rel_error: float, allocation: str) -> dict[str, float]:
    """Data-free allocation of relative RMS errors over the quantized tensors (element counts ``sizes``).

    High-rate model: a tensor's relative noise ``e_t²`` reaches the output alike whatever its size, while
    its bits grow with ``n_t · (−log2 e_t)``. At a fixed sum ``Σ e_t² = T · rel_error²`` the fewest bits
    take ``e_t ∝ sqrt(n_t)`` (``"size"``, the sensitivities of :func:`targets.data_free_sensitivity`);
    ``"tensor"`` keeps ``e_t = rel_error`` for all. Capped at a step of 4 × RMS."""
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {', '.join(ALLOCATIONS)}, not {allocation!r}")
    if allocation == "tensor" or not sizes:
        return {n: rel_error for n in sizes}
    mean_n = sum(sizes.values()) / len(sizes)
    return {n: float(min(rel_error * np.sqrt(k / mean_n), MAX_REL_ERROR)) for n, k in sizes.items()}


def _dq_lambda(lam: float | None) -> float:
    from .trellis import DQ_LAMBDA

    return DQ_LAMBDA if lam is None else float(lam)


def _add_latent_groups(b: _StreamBuilder, tensors: list[LatentTensor], priors: dict[str, PriorSpec],
                       table_mode: str, add: Callable[[LatentTensor, int], None]) -> None:
    """One table per prior group (the learned prior, or the cheapest table for ``"auto"``)."""
    if table_mode not in ("prior", "auto"):
        raise ValueError(f"table_mode must be 'prior' or 'auto', not {table_mode!r}")
    groups: dict[str, list[LatentTensor]] = {}
    for lt in tensors:
        groups.setdefault(lt.prior, []).append(lt)
    for prior_name, members in groups.items():
        values = np.concatenate([np.asarray(m.latent, dtype=np.int64).ravel() for m in members])
        p = priors.get(prior_name)
        if (table_mode == "prior" and p is not None and getattr(p, "table", None) is not None
                and p.table.n <= b.max_alphabet):
            desc = p.table
        elif table_mode == "prior" and p:
            desc = table_for_pmf(p.pmf, p.lo, values, max_alphabet=b.max_alphabet)
        else:
            desc = choose_table(values, max_alphabet=b.max_alphabet)
        table = b.add_table(desc, share=True)
        for m in members:
            add(m, table)


def _add_plain(b: _StreamBuilder, plain: dict[str, np.ndarray]) -> None:
    """Float tensors losslessly, everything else raw."""
    for name, arr in plain.items():
        arr = np.asarray(arr)
        dtype = str(arr.dtype)
        if dtype in FLOAT_DTYPES and arr.size:
            b.add_bytes(name, arr, dtype)
        else:
            b.add_raw(name, arr, dtype)


def encode_latent_model(latents: list[LatentTensor], priors: dict[str, PriorSpec],
                        plain: dict[str, np.ndarray], *, meta: dict | None = None,
                        table_mode: str = "prior", segment_size: int = DEFAULT_SEGMENT,
                        kind: str = "weights", extra: dict | None = None,
                        compress_header: bool = True, notes: Iterable[str] = ()) -> bytes:
    """Code trained EPR latents under their learned priors, plus the remaining float tensors.

    ``table_mode="prior"`` stores each learned prior as an integer table (what the training rate
    estimated); ``"auto"`` picks the cheapest table for the actual latents instead.
    """
    def fill(b: _StreamBuilder) -> None:
        _add_latent_groups(b, latents, priors, table_mode, b.add_latent)
        _add_plain(b, plain)

    b = _within_table_work(kind, segment_size, fill)
    head_extra = dict(extra or {})
    if meta:
        head_extra["meta"] = meta
    return b.finish(head_extra, notes, compress_header=compress_header)


def encode_delta(residuals: list[LatentTensor], priors: dict[str, PriorSpec], plain: dict[str, np.ndarray],
                 base: bytes, *, kind: str = "scene", extra: dict | None = None, table_mode: str = "prior",
                 segment_size: int = DEFAULT_SEGMENT) -> bytes:
    """A delta stream (format 1.1): integer residuals on the ``latent`` tensors of ``base``.

    Each residual's ``name`` must be a ``latent`` tensor of the base stream with the same shape;
    the receiver decodes ``synthesize(base decoder, base latent + residual, base params)``. The
    stream names its base by SHA-256 (``BASE`` chunk). ``plain`` tensors are coded losslessly.
    """
    import hashlib

    def fill(b: _StreamBuilder) -> None:
        _add_latent_groups(b, residuals, priors, table_mode,
                           lambda m, table: b.add_residual(m.name, np.asarray(m.latent), table))
        _add_plain(b, plain)

    b = _within_table_work(kind, segment_size, fill)
    return b.finish(extra, base_sha256=hashlib.sha256(base).digest())


def _is_reparameterized_module(weights: Any) -> bool:
    """A torch module holding EPR latents (parametrizations that hand out integer latents),
    recognized by duck typing so the writer never imports the method layer."""
    modules = getattr(weights, "modules", None)
    if not callable(modules):
        return False
    for m in modules():
        for plist in getattr(getattr(m, "parametrizations", None), "values", lambda: ())():
            if any(hasattr(p, "integer_latent") and hasattr(p, "numpy_params") for p in plist):
                return True
    return False
