"""The public stream writer: one stream, any mix of per-tensor codings.

>>> w = StreamWriter()
>>> w.add_array("fc.bias", bias)                                   # lossless (byte planes) or raw
>>> w.add_quant("fc.weight", weight, step=1e-3)                     # format 1.0 ``quant``
>>> w.add_parts("conv.weight", shape, [CodebookPart(q, centroids)])  # one part: that coding (1.2)
>>> w.add_parts("fc2.weight", shape, [QuantPart.from_float(w2, s), SparsePart.from_dense(c)])  # ``sum``
>>> data = w.finish(meta={...})

Writers stamp the lowest version the stream needs: 1.2 (with an ``MTHD`` chunk naming the
features) only when a 1.2 coding is used, 1.1 for a compressed header, else 1.0.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from ..bitstream import DEFAULT_LIMITS, Chunk, Writer, pack, strict_json
from ..codings.dtypes import FLOAT_DTYPES
from ..codings.features import mthd_payload, used_features
from ..entropy.choose import DEFAULT_MAX_ALPHABET
from ..errors import InputError, LimitExceededError
from .encoder import DEFAULT_SEGMENT, _StreamBuilder, _within_table_work
from .head_chunk import header_chunk
from .writer_parts import CodebookPart, FloatVec, LowRankPart, QuantPart, SparsePart, dense_sum

__all__ = ["StreamWriter", "write_within_table_work", "QuantPart", "CodebookPart", "SparsePart", "LowRankPart", "FloatVec", "dense_sum"]


class StreamWriter:
    """Collects tensors (any coding) and writes one stream."""

    def __init__(self, kind: str = "weights", segment_size: int = DEFAULT_SEGMENT,
                 max_alphabet: int = DEFAULT_MAX_ALPHABET, min_bytes_elements: int = 0) -> None:
        self._b = _StreamBuilder(kind, segment_size, max_alphabet, min_bytes_elements)
        self._freq: dict[int, Any] = {}
        self.segment_size, self.max_alphabet = segment_size, max_alphabet

    @classmethod
    def _over(cls, b: _StreamBuilder) -> "StreamWriter":
        """A writer filling an existing builder (its alphabet cap and byte-plane threshold)."""
        w = cls(b.kind, b.segment_size, b.max_alphabet, b.min_bytes_elements)
        w._b = b
        return w

    # --- the Tables protocol of writer_parts ---
    def add_table(self, d) -> int:
        return self._b.add_table(d)

    def freq_table(self, k: int):
        if k not in self._freq:
            self._freq[k] = self._b.tables[k].table()
        return self._freq[k]

    # --- tensors ---
    def add_raw(self, name: str, arr: np.ndarray) -> None:
        arr = np.asarray(arr)
        self._b.add_raw(name, arr, str(arr.dtype))

    def add_array(self, name: str, arr: np.ndarray, dtype: str | None = None) -> None:
        """Bit-exact: float tensors as byte planes (or raw when smaller), others raw (``dtype`` "bfloat16"
        for a float32 array holding bfloat16 values)."""
        arr = np.asarray(arr)
        dtype = dtype or str(arr.dtype)
        if dtype in FLOAT_DTYPES and arr.size:
            self._b.add_bytes(name, arr, dtype)
        else:
            self._b.add_raw(name, arr, dtype)

    def add_quant(self, name: str, arr: np.ndarray, step: float, per_channel: bool = False) -> None:
        """Uniform quantization with ``step`` (per channel: channel steps scaled to geometric mean ``step``)."""
        arr = np.asarray(arr, dtype=np.float32)
        self._b.add_quant(name, arr, "float32", 0.01, per_channel, 0.0, step)

    def add_parts(self, name: str, shape: tuple[int, ...], parts: list, dtype: str = "float32") -> None:
        """One tensor from ``parts`` (a single part uses its coding directly; several make a ``sum``)."""
        if not parts:
            raise InputError(f"{name!r}: no parts")
        if dtype not in FLOAT_DTYPES:
            raise InputError(f"{name!r}: parts need a float dtype, not {dtype}")
        entry: dict = {"name": name, "shape": [int(d) for d in shape], "dtype": dtype}
        fields = [p.fields(self) for p in parts]
        if len(parts) == 1:
            entry.update(fields[0])
        else:
            entry.update(coding="sum", parts=fields)
        self._check(entry)
        w = Writer()
        w.uvarint(len(self._b.entries))
        for p in parts:
            p.write(w, self)
        self._b.entries.append(entry)
        self._b.payloads.append(w.getvalue())

    def _check(self, entry: dict) -> None:
        """The receiver's parse-time checks, here (a bad part is an InputError, not a bad stream)."""
        from ..codings import get_coding
        from ..errors import BitstreamError

        try:
            get_coding(entry["coding"]).validate(dict(entry, shape=tuple(entry["shape"])), len(self._b.tables),
                                                 DEFAULT_LIMITS)
        except BitstreamError as exc:
            raise InputError(f"{entry['name']!r}: {exc}") from None

    @property
    def names(self) -> list[str]:
        return [e["name"] for e in self._b.entries]

    def finish(self, meta: dict | None = None, notes: Iterable[str] = (), compress_header: bool = True,
               extra: dict | None = None) -> bytes:
        """The stream bytes (version 1.0, 1.1 or 1.2, the lowest that fits)."""
        b = self._b
        if b.table_work() > DEFAULT_LIMITS.max_table_work:
            raise LimitExceededError("the stream's tables need more work than a default decoder allows: "
                                     "use fewer or smaller tables")
        head = {"kind": b.kind, "tensors": b.entries, "tables": len(b.tables)}
        head.update(extra or {})
        if meta:
            head["meta"] = meta
        chunks = [header_chunk(strict_json.dumps(head), compress_header)]
        features = used_features([dict(e, shape=tuple(e["shape"])) for e in b.entries])
        if features:
            chunks.append(Chunk("MTHD", mthd_payload(features)))
        from ..entropy import write_description

        chunks += [Chunk("TABL", write_description(d)) for d in b.tables]
        chunks += [Chunk("TENS", p) for p in b.payloads]
        chunks += [Chunk("note", n.encode("utf-8")) for n in notes]
        version = (1, 2) if features else (1, 1) if chunks[0].type == "ZHDR" else (1, 0)
        return pack(chunks, version=version)


def write_within_table_work(fill: Callable[[StreamWriter], None], meta: dict | None = None,
                            kind: str = "weights") -> bytes:
    """A stream filled by ``fill(writer)`` under the first of ``TABLE_BUDGETS`` (largest table alphabet,
    fewest elements of a byte-plane tensor) whose tables a default decoder accepts; usually the first
    (:func:`encoder._within_table_work`, as ``nwcodec.encode``). Models with many coded parts (low-rank factors,
    sparse values) otherwise exceed ``max_table_work``."""
    writers: dict[int, StreamWriter] = {}

    def fill_builder(b: _StreamBuilder) -> None:
        writers[id(b)] = w = StreamWriter._over(b)
        fill(w)

    b = _within_table_work(kind, DEFAULT_SEGMENT, fill_builder)
    return writers[id(b)].finish(meta=meta)
