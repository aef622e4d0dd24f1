"""The ``block_dct`` parameter decoder: receiver numpy vs the independent spec implementation (bit-exact),
known answers, parse-time schema checks, the torch twin (to float32 rounding), the version rule."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nwcodec import MalformedError, decode, parse
from nwcodec.codec import LatentTensor, PriorSpec, encode_latent_model
from nwcodec.decoders import get_decoder, synthesize
from nwcodec.errors import InputError
from nwcodec.reparam.transforms import BlockDctLatent, block_size
from tests.independent import synth as ind

ROOT = Path(__file__).resolve().parents[1]
VECTOR = ROOT / "bitstreams" / "conformance" / "block_dct.nwc"


def _params(rng: np.random.Generator, c: int, block: tuple[int, int]) -> dict[str, np.ndarray]:
    return {"step": rng.uniform(0.1, 3.0, block).astype(np.float32),
            "scale": rng.uniform(0.01, 1.0, c).astype(np.float32),
            "offset": rng.normal(0, 0.3, c).astype(np.float32)}


@pytest.mark.parametrize("shape, block, per_channel", [
    ((3, 16, 24), (8, 8), True), ((2, 12, 10), (4, 5), False), ((6, 14), (3, 7), True),
    ((2, 3, 8, 8), (8, 8), True), ((1, 9, 9), (3, 3), False), ((4, 5, 7), (1, 1), True), ((0, 8, 8), (8, 8), False)])
def test_receiver_matches_independent_implementation_bit_for_bit(shape, block, per_channel) -> None:
    rng = np.random.default_rng(sum(shape) + block[0])
    latent = np.rint(rng.laplace(0, 20, shape)).astype(np.int32)
    params = _params(rng, shape[0] if per_channel else 1, block)
    got = synthesize("block_dct", latent, params)
    want = ind.synthesize("block_dct", latent, params)
    assert got.dtype == np.float32 and got.shape == latent.shape
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_known_answers() -> None:
    one = {"scale": np.ones(1, np.float32), "offset": np.zeros(1, np.float32)}
    lat = np.zeros((1, 16, 8), np.int32)
    lat[0, 8, 0] = 3                                     # DC of the second block only
    w = synthesize("block_dct", lat, {"step": np.full((8, 8), 0.5, np.float32), **one})
    c0 = np.uint32(0x3EB504F3).view(np.float32)          # C_8[0, j] = sqrt(1/8)
    dc = np.float32(np.float32(3) * np.float32(0.5)) * np.float32(c0 * c0)
    assert np.all(w[0, :8] == 0) and np.all(w[0, 8:] == dc) and abs(float(dc) - 1.5 / 8) < 1e-7
    lat = np.zeros((1, 4, 4), np.int32)
    lat[0, 0, 1] = 1                                     # first horizontal frequency of a 4x4 block
    w = synthesize("block_dct", lat, {"step": np.ones((4, 4), np.float32), **one})
    ref = 0.5 * np.sqrt(0.5) * np.cos(np.pi * (2 * np.arange(4) + 1) / 8)
    assert np.allclose(w[0], np.broadcast_to(ref, (4, 4)), atol=1e-7)
    assert np.all(w[0, :, :2] > 0) and np.all(w[0, :, 2:] < 0)


def test_subnormal_results_are_kept() -> None:
    lat = np.ones((1, 1, 1), np.int32)
    tiny = np.array([[2.0 ** -130]], np.float32)        # 1 * step * C_1 (= 1) is subnormal
    w = synthesize("block_dct", lat, {"step": tiny, "scale": np.ones(1, np.float32),
                                      "offset": np.zeros(1, np.float32)})
    assert w.view(np.uint32)[0, 0, 0] == 0x00080000


@pytest.mark.parametrize("shape, params, match", [
    ((8,), {"step": (8, 8), "scale": (1,), "offset": (1,)}, "at least 2 dims"),
    ((2, 16, 16), {"step": (8,), "scale": (1,), "offset": (1,)}, "needs \\[Bh, Bw\\]"),
    ((2, 18, 18), {"step": (9, 9), "scale": (1,), "offset": (1,)}, "sizes 1..8"),
    ((2, 12, 16), {"step": (8, 8), "scale": (1,), "offset": (1,)}, "do not tile"),
    ((2, 16, 16), {"step": (8, 8), "scale": (3,), "offset": (1,)}, "param 'scale'"),
    ((2, 16, 16), {"step": (8, 8), "scale": (1,)}, "takes params"),
])
def test_schema_is_checked_before_allocation(shape, params, match) -> None:
    with pytest.raises(MalformedError, match=match):
        get_decoder("block_dct").check(shape, params)


def _stream(shape=(2, 16, 16), step_shape=(8, 8)) -> bytes:
    rng = np.random.default_rng(0)
    lat = np.rint(rng.laplace(0, 2, shape)).astype(np.int32)
    params = {"step": np.ones(step_shape, np.float32), "scale": np.ones(1, np.float32), "offset": np.zeros(1, np.float32)}
    pmf = np.full(41, 1 / 41)
    return encode_latent_model([LatentTensor("p", lat, "block_dct", params, "g")], {"g": PriorSpec(pmf, -20)}, {},
                               compress_header=False)


def test_bad_schema_in_a_stream_is_refused_by_parse() -> None:
    with pytest.raises(MalformedError, match="do not tile"):
        parse(_stream((2, 12, 16), (8, 8)))
    assert set(decode(_stream())) == {"p"}


def test_an_older_decoder_refuses_block_dct_by_name() -> None:
    """A receiver without the ``block_dct`` entry (as one built before it) refuses the vector in parse."""
    code = ("import sys; import nwcodec.decoders as d; d._REGISTRY.pop('block_dct')\n"
            "from nwcodec import parse, MalformedError\n"
            "try:\n    parse(open(sys.argv[1], 'rb').read())\nexcept MalformedError as e:\n    print('refused:', e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(VECTOR)], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert "refused:" in out.stdout and "unknown parameter decoder 'block_dct'" in out.stdout, out.stderr


def test_vector_script_is_deterministic(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "bitstreams" / "make_block_dct_vector.py"), str(tmp_path)],
                   check=True, capture_output=True, cwd=ROOT, timeout=60)
    assert (tmp_path / "block_dct.nwc").read_bytes() == VECTOR.read_bytes()
    assert (tmp_path / "block_dct.sha256").read_text() == VECTOR.with_suffix(".sha256").read_text()


@pytest.mark.parametrize("shape, per_channel", [((4, 32, 24), True), ((3, 2, 16, 16), False), ((5, 12), True)])
def test_torch_twin_matches_numpy_to_float32_rounding(shape, per_channel) -> None:
    torch.manual_seed(0)
    w = torch.randn(shape)
    dec = BlockDctLatent(w, per_channel, 0.05, "p", "p", (8, 8))
    with torch.no_grad():
        dec.log_step.copy_(torch.randn(dec.log_step.shape) * 0.3)
        latent = dec.right_inverse(w)
    q = torch.round(latent)
    twin = dec.decode(q).detach().numpy()
    rx = synthesize("block_dct", q.numpy().astype(np.int32), dec.numpy_params())
    tol = 4 * np.finfo(np.float32).eps * (np.abs(rx).max() + float(dec.offset.detach().abs().max()))
    assert np.abs(twin - rx).max() <= tol
    assert torch.allclose(dec.decode(latent), w, atol=1e-5)                 # right_inverse inverts decode
    assert np.abs(rx - w.numpy()).max() > 0                                 # rounding changed something


def test_block_rule_and_torch_errors() -> None:
    assert [block_size(n, 8) for n in (64, 100, 12, 7, 9, 1)] == [8, 5, 6, 7, 3, 1]
    with pytest.raises(InputError, match="at least 2 dims"):
        BlockDctLatent(torch.zeros(16), True, 0.05, "v", "v")
