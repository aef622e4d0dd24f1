"""Streams of many coded parts stay within what a default decoder accepts (``Limits.max_table_work``)."""
from __future__ import annotations

import numpy as np
import pytest

import nwcodec
from nwcodec.codec.writer import QuantPart, StreamWriter, write_within_table_work
from nwcodec.errors import LimitExceededError


def _wide_parts(n_tensors: int = 6) -> dict[str, np.ndarray]:
    """Integer tensors with ~3,000 distinct values each: one default-alphabet table apiece costs ~9M work units."""
    rng = np.random.default_rng(7)
    return {f"t{i}": rng.integers(-1500, 1500, size=(64, 200)).astype(np.int64) for i in range(n_tensors)}


def _fill(ints: dict[str, np.ndarray], step: float):
    def fill(w: StreamWriter) -> None:
        for n, q in ints.items():
            w.add_parts(n, q.shape, [QuantPart(q, [step])])
    return fill


def test_default_writer_refuses_what_a_default_decoder_would_refuse() -> None:
    w = StreamWriter()
    _fill(_wide_parts(9), 0.25)(w)
    with pytest.raises(LimitExceededError):
        w.finish()


def test_within_table_work_writes_a_stream_the_default_decoder_takes_exactly() -> None:
    ints = _wide_parts(9)
    data = write_within_table_work(_fill(ints, 0.25))
    out = nwcodec.decode(data)                      # default Limits: refused if the tables were too costly
    for n, q in ints.items():                        # known answer: float32(q) * 0.25, escapes included
        np.testing.assert_array_equal(out[n], q.astype(np.float32) * np.float32(0.25))
