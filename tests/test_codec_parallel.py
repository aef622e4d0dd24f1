"""Multi-process decoding gives exactly the serial result, and reports damage with its type."""
from __future__ import annotations

import numpy as np
import pytest

import nwcodec
from nwcodec.bitstream import Chunk, pack, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.codec.digest import tensor_digest
from tests import independent


@pytest.fixture(scope="module")
def stream() -> bytes:
    rng = np.random.default_rng(3)
    sd = {"big": rng.laplace(0, 0.05, (2304, 1024)).astype(np.float32),
          "pc": rng.normal(0, 1, (300, 64)).astype(np.float32) * np.linspace(0.1, 3, 300)[:, None].astype(np.float32),
          "b": rng.normal(0, 1, 300).astype(np.float32),
          "n": np.array(7, dtype=np.int64)}
    return nwcodec.encode(sd, quality=50, segment_size=1 << 18)


@pytest.fixture(scope="module")
def independent_digest(stream: bytes) -> str:
    """The digest the independent decoder (tests/independent, FORMAT.md alone) gives the stream."""
    return independent.digest(independent.decode(stream))


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_every_worker_count_gives_the_independent_result(stream: bytes, independent_digest: str,
                                                          workers: int) -> None:
    assert tensor_digest(nwcodec.decode(stream, workers=workers)) == independent_digest


def test_parallel_reports_typed_error(stream: bytes) -> None:
    c = unpack(stream, known=KNOWN_CHUNKS)
    chunks = list(c.chunks)
    k = next(i for i, ch in enumerate(chunks) if ch.type == "TENS")
    data = bytearray(chunks[k].data)
    data[len(data) // 2] ^= 0xFF      # damage coded words inside a valid CRC
    chunks[k] = Chunk("TENS", bytes(data))
    bad = pack(chunks)
    with pytest.raises(nwcodec.BitstreamError):
        nwcodec.decode(bad, workers=2)


def test_default_decode_takes_the_parallel_path_above_the_threshold() -> None:
    """The committed 4.2M-element vector (per-column steps, axis 1): ``decode()`` picks several workers
    by itself and still gives the committed digest (the old parallel path applied the steps on axis 0)."""
    import multiprocessing as mp
    import os
    from pathlib import Path

    from nwcodec.codec.decoder import _workers
    from nwcodec.codec.digest import tensor_digest

    vec = Path(__file__).resolve().parents[1] / "bitstreams" / "conformance" / "large_parallel.nwc"
    data = vec.read_bytes()
    ps = nwcodec.parse(data)
    if "fork" in mp.get_all_start_methods() and len(os.sched_getaffinity(0)) > 1:
        assert _workers(ps, list(range(len(ps.tensors))), None) > 1
    assert tensor_digest(nwcodec.decode(data)) == vec.with_suffix(".sha256").read_text().strip()
