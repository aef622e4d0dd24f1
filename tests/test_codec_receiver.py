"""Receiver checks: non-finite values refused, parse-time decoder schemas, the FP environment, and
the planning checks (TENS index, trailing bytes) on the parallel path too."""
from __future__ import annotations

import os
import platform
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nwcodec import MalformedError, decode, encode, parse
from nwcodec.bitstream import Chunk, pack, strict_json, unpack
from nwcodec.codec import LatentTensor, PriorSpec, encode_latent_model
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.decoders import DECODERS, get_decoder
from nwcodec.codings import CODINGS, get_coding

REPO = Path(__file__).resolve().parents[1]
NAN, INF = struct.pack("<f", float("nan")), struct.pack("<f", float("inf"))


def _replace_tens(data: bytes, k: int, payload: bytes) -> bytes:
    chunks = unpack(data, known=KNOWN_CHUNKS).chunks
    tens = [i for i, c in enumerate(chunks) if c.type == "TENS"]
    chunks[tens[k]] = Chunk("TENS", payload)
    return pack(chunks, version=unpack(data, known=KNOWN_CHUNKS).version)


def _tens(data: bytes, k: int) -> bytes:
    return [c.data for c in unpack(data, known=KNOWN_CHUNKS).chunks if c.type == "TENS"][k]


QUANT = encode({"w": np.random.default_rng(0).normal(0, 1, (8, 16)).astype(np.float32)}, quality=40,
               per_channel=True, compress_header=False)


def _latent(decoder: str = "affine") -> bytes:
    lat = np.arange(-12, 12, dtype=np.int32).reshape(4, 6)
    params = {"scale": np.full(4, 0.5, np.float32), "offset": np.zeros(4, np.float32)}
    pmf = np.full(25, 1 / 25)
    return encode_latent_model([LatentTensor("w", lat, decoder, params, "p")], {"p": PriorSpec(pmf, -12)}, {},
                               compress_header=False)


@pytest.mark.parametrize("bad", [NAN, INF, b"\x00\x00\x80\xff"])
@pytest.mark.parametrize("workers", [1, 2])
def test_non_finite_step_is_refused(bad: bytes, workers: int) -> None:
    p = _tens(QUANT, 0)
    data = _replace_tens(QUANT, 0, p[:1] + p[1:5] + bad + p[9:])   # the second channel's step
    with pytest.raises(MalformedError, match="not finite"):
        decode(data, workers=workers)


@pytest.mark.parametrize("bad", [NAN, INF])
@pytest.mark.parametrize("param_offset", [1, 1 + 16])   # first scale, first offset
def test_non_finite_decoder_param_is_refused(bad: bytes, param_offset: int) -> None:
    data = _latent()
    p = _tens(data, 0)
    with pytest.raises(MalformedError, match="not finite"):
        decode(_replace_tens(data, 0, p[:param_offset] + bad + p[param_offset + 4:]))


def _edit_head(data: bytes, edit) -> bytes:
    chunks = unpack(data, known=KNOWN_CHUNKS).chunks
    head = strict_json.loads(chunks[0].data)
    edit(head["tensors"][0])
    chunks[0] = Chunk("HEAD", strict_json.dumps(head))
    return pack(chunks)


@pytest.mark.parametrize("edit, match", [
    (lambda t: t["params"].pop("offset"), "takes params"),
    (lambda t: t["params"].update(scale=[3]), "param 'scale'"),
    (lambda t: t.update(decoder="wavelet"), "known: affine, block_dct, dct"),
    (lambda t: t.update(decoder="dct"), "dct"),
])
def test_decoder_schema_is_checked_in_parse(edit, match: str) -> None:
    with pytest.raises(MalformedError, match=match):
        parse(_edit_head(_latent(), edit))


def test_registries_hold_the_builtins() -> None:
    assert set(CODINGS) == {"raw", "quant", "bytes", "latent", "residual"}
    assert {"affine", "dct"} <= set(DECODERS)
    assert get_coding("quant").keys == frozenset({"name", "shape", "dtype", "coding", "axis", "table"})
    for bad in ("zip", None, ["quant"]):
        with pytest.raises(MalformedError, match="unknown coding"):
            get_coding(bad)
    with pytest.raises(MalformedError, match="unknown parameter decoder"):
        get_decoder("nope")


@pytest.mark.parametrize("workers", [1, 2])
def test_planning_checks_hold_on_every_path(workers: int) -> None:
    """The parallel path once skipped these (it decoded segments it found by scanning)."""
    p = _tens(QUANT, 0)
    with pytest.raises(MalformedError, match="trailing"):
        decode(_replace_tens(QUANT, 0, p + b"\x00"), workers=workers)
    with pytest.raises(MalformedError, match="index"):
        decode(_replace_tens(QUANT, 0, b"\x01" + p[1:]), workers=workers)


FTZ = r'''
import ctypes, ctypes.util, sys
libm = ctypes.CDLL(ctypes.util.find_library("m"))
env = (ctypes.c_ubyte * 64)()
assert libm.fegetenv(env) == 0
mxcsr = int.from_bytes(bytes(env[28:32]), "little") | int(sys.argv[1])
env[28:32] = list(mxcsr.to_bytes(4, "little"))
assert libm.fesetenv(env) == 0
import nwcodec
from nwcodec.errors import FloatEnvironmentError
data = open(sys.argv[2], "rb").read()
try:
    nwcodec.decode(data)
except FloatEnvironmentError as exc:
    print("refused:", exc)
'''


@pytest.mark.skipif(platform.machine() != "x86_64" or not sys.platform.startswith("linux"),
                    reason="sets MXCSR through glibc's x86-64 fenv_t")
@pytest.mark.parametrize("bits", [1 << 15, 1 << 6, (1 << 15) | (1 << 6)], ids=["FTZ", "DAZ", "FTZ+DAZ"])
def test_flush_to_zero_is_refused(bits: int) -> None:
    vector = REPO / "bitstreams" / "conformance" / "dct.nwc"
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", FTZ, str(bits), str(vector)], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("refused: float32 arithmetic flushes subnormals")


def test_subnormals_are_preserved() -> None:
    """The format keeps subnormals: a step of 2^-140 decodes to exact subnormal weights."""
    ones = encode({"w": np.ones((8, 8), np.float32)}, compress_header=False, steps={"w": 1.0})
    q = _tens(ones, 0)
    out = decode(_replace_tens(ones, 0, q[:1] + struct.pack("<f", 2.0 ** -140) + q[5:]))["w"]
    assert out.view(np.uint32).tolist() == [[0x200] * 8] * 8   # 1 * 2^-140, not 0
