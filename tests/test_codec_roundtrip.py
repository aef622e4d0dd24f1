"""Weight codec round trips: lossless, quantized, per-channel, RDO, every input form, bad inputs."""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save_file

from nwcodec import InputError, decode, encode, parse
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.load import load_into_module
from tests import independent

DTYPES = ["float32", "float16", "float64", "int64", "uint8", "bool"]
SHAPES = [(), (0,), (3, 0), (1,), (7,), (5, 9), (2, 3, 4, 5), (17, 33)]


def _random(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    if dtype == "bool":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype in ("int64", "uint8"):
        info = np.iinfo(dtype)
        return np.asarray(rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True))
    return np.asarray(rng.normal(0, rng.uniform(1e-3, 10), shape).astype(dtype))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.tuples(st.sampled_from(DTYPES), st.sampled_from(SHAPES)),
                                           min_size=1, max_size=6))
def test_lossless_is_bit_exact(seed: int, specs: list) -> None:
    rng = np.random.default_rng(seed)
    state = {f"t{i}": _random(rng, d, s) for i, (d, s) in enumerate(specs)}
    out = decode(encode(state, lossless=True))
    assert list(out) == list(state)
    for k, a in state.items():
        assert out[k].dtype == a.dtype and out[k].shape == a.shape
        assert out[k].tobytes() == a.tobytes()
    lossy = decode(encode(state, rel_error=0.01, min_quant_elements=4))
    for k, a in state.items():
        assert lossy[k].dtype == a.dtype and lossy[k].shape == a.shape
        if a.dtype.kind in "biu":
            assert np.array_equal(lossy[k], a)


def test_lossless_keeps_nan_inf_and_bfloat16() -> None:
    w = np.array([[np.nan, np.inf], [-np.inf, -0.0]], dtype=np.float32)
    bf = torch.randn(40, 9).to(torch.bfloat16)
    out = decode(encode({"w": w, "bf": bf}, lossless=True))
    assert out["w"].tobytes() == w.tobytes()
    assert out["bf"].dtype == np.float32 and torch.equal(torch.from_numpy(out["bf"]).to(torch.bfloat16), bf)


@pytest.mark.parametrize("rel", [0.3, 0.03, 0.003])
@pytest.mark.parametrize("per_channel", [False, True])
def test_quant_error_tracks_rel_error(rel: float, per_channel: bool) -> None:
    rng = np.random.default_rng(0)
    w = rng.laplace(0, 0.05, (64, 128)).astype(np.float32)
    out = decode(encode({"w": w}, rel_error=rel, per_channel=per_channel))["w"]
    err = np.sqrt(np.mean((out - w) ** 2)) / np.sqrt(np.mean(w ** 2))
    assert out.dtype == np.float32 and 0.7 * rel < err < 1.3 * rel


def test_per_channel_follows_channel_scale() -> None:
    rng = np.random.default_rng(1)
    w = (rng.normal(0, 1, (8, 256)) * np.geomspace(1e-4, 1, 8)[:, None]).astype(np.float32)
    for pc in (False, True):
        out = decode(encode({"w": w}, rel_error=0.01, per_channel=pc))["w"]
        rel = np.sqrt(np.mean((out - w) ** 2, axis=1) / np.mean(w ** 2, axis=1))
        assert (rel.max() < 0.02) == pc   # per-tensor steps wipe out the small channels
    assert parse(encode({"w": w}, per_channel=True)).tensors[0]["axis"] == 0


def test_rdo_trades_error_for_rate() -> None:
    rng = np.random.default_rng(2)
    w = rng.laplace(0, 1, (128, 128)).astype(np.float32)
    plain, rd = encode({"w": w}, rel_error=0.05), encode({"w": w}, rel_error=0.05, rdo=0.3)
    assert len(rd) < len(plain)
    err = [np.abs(decode(d)["w"] - w).max() for d in (plain, rd)]
    step = parse(plain)  # steps are the first 4 bytes of the payload after the index varint
    s = np.frombuffer(step.payloads[0][1:5], "<f4")[0]
    assert err[0] <= 0.5 * s * (1 + 1e-6) and err[1] <= s * (1 + 1e-6)


def test_float16_quant_and_int_buffers_exact() -> None:
    rng = np.random.default_rng(3)
    state = {"h": rng.normal(0, 1, (32, 32)).astype(np.float16), "num_batches_tracked": torch.tensor(987654321),
             "idx": torch.arange(-5, 5, dtype=torch.int64).reshape(2, 5)}
    out = decode(encode(state))
    assert out["h"].dtype == np.float16
    assert out["num_batches_tracked"].shape == () and int(out["num_batches_tracked"]) == 987654321
    assert out["idx"].dtype == np.int64 and np.array_equal(out["idx"], state["idx"].numpy())


def test_decode_is_deterministic_and_extracts_by_name() -> None:
    rng = np.random.default_rng(4)
    state = {"a": rng.normal(0, 1, (20, 20)).astype(np.float32), "b": rng.normal(0, 1, 30).astype(np.float32),
             "c": np.arange(6, dtype=np.int64)}
    data = encode(state, notes=["hello"], meta={"arch": "x"})
    one = decode(bytearray(data))
    # cross-checks, not self-comparisons: the independent decoder, and a fresh process on 2 workers
    assert tensor_digest(one) == independent.digest(independent.decode(data))
    code = ("import sys, nwcodec; from nwcodec.codec.digest import tensor_digest; "
            "print(tensor_digest(nwcodec.decode(sys.stdin.buffer.read(), workers=2)))")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]), OMP_NUM_THREADS="1")
    fresh = subprocess.run([sys.executable, "-c", code], input=data, env=env, capture_output=True, timeout=120)
    assert fresh.stdout.decode().strip() == tensor_digest(one), fresh.stderr[-1000:]
    only = decode(memoryview(data), names=["b"])
    assert list(only) == ["b"] and only["b"].tobytes() == one["b"].tobytes()
    ps = parse(data)
    assert ps.notes == ["hello"] and ps.header["meta"] == {"arch": "x"}
    with pytest.raises(InputError):
        decode(data, names=["nope"])
    with pytest.raises(InputError):
        decode("not bytes")  # type: ignore[arg-type]


class _Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(32, 10)


def test_input_forms_agree_and_load_back(tmp_path) -> None:
    torch.manual_seed(0)
    net = _Net()
    net.bn.num_batches_tracked += 7
    sd = net.state_dict()
    torch.save(sd, tmp_path / "w.pt")
    save_file({k: v.numpy() for k, v in sd.items()}, str(tmp_path / "w.safetensors"))
    streams = [encode(x) for x in (net, sd, tmp_path / "w.pt", str(tmp_path / "w.safetensors"))]
    assert len(set(streams[:3])) == 1
    a, b = decode(streams[0]), decode(streams[3])   # safetensors stores names sorted
    assert sorted(a) == sorted(b) and all(a[k].tobytes() == b[k].tobytes() for k in a)
    fresh = load_into_module(_Net(), streams[0])
    assert int(fresh.bn.num_batches_tracked) == 7
    assert torch.equal(fresh.bn.running_var, net.bn.running_var)


def test_bad_inputs(tmp_path) -> None:
    with pytest.raises(InputError):
        encode(tmp_path / "missing.pt")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(InputError):
        encode(tmp_path / "w.txt")
    with pytest.raises(InputError):
        encode({"w": torch.zeros(3), "cfg": {"lr": 1}})
    with pytest.raises(InputError):
        encode({"w": torch.zeros(3, dtype=torch.complex64)})
    with pytest.raises(InputError):
        encode(42)
    with open(tmp_path / "evil.pt", "wb") as f:  # a plain pickle of a non-allowlisted class
        pickle.dump({"w": subprocess.CompletedProcess(["x"], 0)}, f, protocol=2)
    with pytest.raises(InputError):
        encode(tmp_path / "evil.pt")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(InputError):
        encode(tmp_path / "junk.safetensors")


def test_receiver_never_imports_torch() -> None:
    data = encode({"w": np.ones((16, 16), np.float32), "b": np.arange(3, dtype=np.int64)})
    code = ("import sys, nwcodec; out = nwcodec.decode(sys.stdin.buffer.read()); "
            "assert sorted(out) == ['b', 'w']; assert 'torch' not in sys.modules, 'torch imported'")
    res = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()


def test_large_constant_tensor_roundtrips() -> None:
    w = np.zeros((4096, 1024), np.float32)
    assert np.array_equal(decode(encode({"w": w}))["w"], w)
