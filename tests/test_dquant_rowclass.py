"""``rowclass`` (format 1.5): per-row table classes, with plain or dependent levels; hostile inputs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nwcodec import decode, encode, parse
from nwcodec.bitstream import Chunk, pack, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.codings import _REGISTRY
from nwcodec.errors import BitstreamError, MalformedError

VEC = Path(__file__).resolve().parents[1] / "bitstreams" / "conformance"


def _rows(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.laplace(0, 1.0, (128, 200)) * np.geomspace(1e-3, 1.0, 128)[rng.permutation(128), None]).astype(np.float32)


@pytest.mark.parametrize("dq", [False, True])
def test_smaller_at_same_error(dq: bool) -> None:
    """Rows of very different scale: 4 classes beat one table; the decoded tensor is the same one table's
    levels would give (plain) or within 0.2 dB (dq, where the trellis re-runs per class)."""
    w = _rows(1)
    one = encode({"w": w}, quality=50, dq=dq)
    rc = encode({"w": w}, quality=50, dq=dq, row_classes=4)
    assert parse(rc).tensors[0]["coding"] == "rowclass" and parse(rc).version == (1, 5)
    assert len(rc) < 0.97 * len(one)
    a, b = decode(one)["w"], decode(rc)["w"]
    if not dq:
        assert np.array_equal(a, b)
    err = lambda x: float(np.sum((x.astype(np.float64) - w) ** 2))
    assert err(b) < err(a) * 1.05


def test_older_decoder_refuses_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    data = (VEC / "rowclass_dq.nwc").read_bytes()
    monkeypatch.delitem(_REGISTRY, "rowclass")
    with pytest.raises(MalformedError, match="rowclass"):
        parse(data)


def _edit(data: bytes, head_edit=None, payload=None) -> bytes:
    chunks = unpack(data, known=KNOWN_CHUNKS).chunks
    if head_edit:
        h = json.loads(bytes(chunks[0].data))
        head_edit(h)
        chunks[0] = Chunk("HEAD", json.dumps(h, separators=(",", ":")).encode())
    if payload is not None:
        k = next(i for i, c in enumerate(chunks) if c.type == "TENS")
        chunks[k] = Chunk("TENS", payload(bytes(chunks[k].data)))
    return pack(chunks, version=(1, 5))


@pytest.mark.parametrize("edit", [
    lambda h: h["tensors"][0].update(tables=[]),
    lambda h: h["tensors"][0].update(tables=list(range(17))),
    lambda h: h["tensors"][0].update(tables=[0, 1, 2, 99]),
    lambda h: h["tensors"][0].update(dq=1),
    lambda h: h["tensors"][0].update(axis=2),
    lambda h: h["tensors"][0].update(shape=[]),
    lambda h: h["tensors"][0].pop("dq"),
])
def test_hostile_header(edit) -> None:
    with pytest.raises(BitstreamError):
        decode(_edit((VEC / "rowclass_dq.nwc").read_bytes(), edit))


def test_hostile_payload() -> None:
    data = (VEC / "rowclass_dq.nwc").read_bytes()
    bad_class = lambda p: p[:5] + b"\x07" + p[6:]          # class 7 of 4
    for f in (bad_class, lambda p: p[:-2], lambda p: p + b"\x00", lambda p: p[:3]):
        with pytest.raises(BitstreamError):
            decode(_edit(data, payload=f))


def test_random_damage_raises_only_bitstream_errors() -> None:
    rng = np.random.default_rng(3)
    for name in ("rowclass_dq", "rowclass_plain"):
        data = (VEC / f"{name}.nwc").read_bytes()
        for _ in range(60):
            def flip(p: bytes) -> bytes:
                b = bytearray(p)
                b[int(rng.integers(1, len(b)))] ^= 1 << int(rng.integers(8))
                return bytes(b)
            try:
                out = decode(_edit(data, payload=flip))
            except BitstreamError:
                continue
            assert out["rows"].shape == (48, 30)
