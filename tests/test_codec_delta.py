"""Format 1.1 delta streams: residual latents on a base named by SHA-256."""
from __future__ import annotations

import numpy as np
import pytest

import nwcodec
from nwcodec.bitstream import Chunk, pack, unpack
from nwcodec.codec import LatentTensor, encode_delta, encode_latent_model, parse
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.reparam.synthesis import synthesize

RNG = np.random.default_rng(11)
BASE_Q = RNG.integers(-20, 21, (16, 8)).astype(np.int32)
PARAMS = {"scale": np.array([0.05], np.float32), "offset": np.array([0.01], np.float32)}
RES = (RNG.random((16, 8)) < 0.1).astype(np.int32) * RNG.choice([-1, 1], (16, 8)).astype(np.int32)


def _streams() -> tuple[bytes, bytes]:
    base = encode_latent_model([LatentTensor("w", BASE_Q, "affine", PARAMS, "p", (16, 8))], {},
                               {"b": np.ones(8, np.float32)}, table_mode="auto", kind="scene",
                               compress_header=False)
    delta = encode_delta([LatentTensor("w", RES, "", {}, "r", (16, 8))], {}, {"b": np.full(8, 2, np.float32)},
                         base, table_mode="auto")
    return base, delta


def test_delta_roundtrip_is_exact() -> None:
    base, delta = _streams()
    assert parse(delta).version == (1, 1) and parse(base).version == (1, 0)
    got = nwcodec.decode(delta, base=base)
    assert np.array_equal(got["w"], synthesize("affine", BASE_Q + RES, PARAMS))
    assert np.array_equal(got["b"], np.full(8, 2, np.float32))
    assert np.array_equal(nwcodec.decode(base)["w"], synthesize("affine", BASE_Q, PARAMS))


def test_missing_and_wrong_base_are_typed_errors() -> None:
    base, delta = _streams()
    with pytest.raises(nwcodec.BaseMismatchError, match="pass its base"):
        nwcodec.decode(delta)
    other = encode_latent_model([LatentTensor("w", BASE_Q + 1, "affine", PARAMS, "p", (16, 8))], {}, {},
                                table_mode="auto", kind="scene")
    with pytest.raises(nwcodec.BaseMismatchError, match="wrong base"):
        nwcodec.decode(delta, base=other)


def test_old_decoder_refuses_delta_with_unknown_critical_chunk() -> None:
    _, delta = _streams()
    with pytest.raises(nwcodec.UnknownChunkError):
        unpack(delta, known=KNOWN_CHUNKS - {"BASE"})


def test_base_chunk_without_residuals_is_malformed() -> None:
    base, delta = _streams()
    chunks = unpack(base, known=KNOWN_CHUNKS).chunks
    bad = pack([chunks[0], Chunk("BASE", b"\0" * 32), *chunks[1:]])
    with pytest.raises(nwcodec.MalformedError):
        parse(bad)
    short = [Chunk("BASE", b"\0" * 5) if c.type == "BASE" else c for c in unpack(delta, known=KNOWN_CHUNKS).chunks]
    with pytest.raises(nwcodec.MalformedError):
        parse(pack(short))
