"""save_file / load_file / load_model, outputs by suffix, atomic files and the umask, ALIS faults."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import nwcodec
from nwcodec.bitstream import Chunk, pack, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.errors import DuplicateNameError, InputError, MalformedError, UnknownChunkError
from nwcodec.formats.npz import read_npz

REPO = Path(__file__).resolve().parents[1]


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def test_save_load_file_roundtrip(tmp_path: Path) -> None:
    net = _net()
    n = nwcodec.save_file(net, tmp_path / "m.nwc", lossless=True)
    assert n == (tmp_path / "m.nwc").stat().st_size
    got = nwcodec.load_file(tmp_path / "m.nwc")
    assert all(np.array_equal(got[k], v.numpy()) for k, v in net.state_dict().items())
    pt = nwcodec.load_file(tmp_path / "m.nwc", framework="pt")
    assert all(torch.equal(pt[k], v) for k, v in net.state_dict().items())


def test_load_model_reports_missing_and_unexpected(tmp_path: Path) -> None:
    net = _net()
    sd = net.state_dict()
    sd["extra.weight"] = torch.ones(2, 2)
    del sd["2.bias"]
    nwcodec.save_file(sd, tmp_path / "m.nwc", quality=80)
    fresh = _net()
    with torch.no_grad():
        fresh[0].weight.zero_()
    with pytest.raises(InputError, match=r"missing \['2.bias'\], unexpected \['extra.weight'\]"):
        nwcodec.load_model(fresh, tmp_path / "m.nwc")
    r = nwcodec.load_model(fresh, tmp_path / "m.nwc", strict=False)
    assert r.missing_keys == ["2.bias"] and r.unexpected_keys == ["extra.weight"]
    assert torch.allclose(fresh[0].weight, net[0].weight, atol=0.01)


def test_load_model_restores_bf16(tmp_path: Path) -> None:
    net = _net().to(torch.bfloat16)
    nwcodec.save_file(net, tmp_path / "m.nwc", lossless=True)
    fresh = _net().to(torch.bfloat16)
    assert nwcodec.load_model(fresh, tmp_path / "m.nwc").missing_keys == []
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), net.state_dict().values()))


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".pt"])
def test_cli_decode_outputs_keep_dtypes(tmp_path: Path, suffix: str) -> None:
    from nwcodec.cli import main

    sd = {"w": torch.randn(8, 16).to(torch.bfloat16), "h": torch.randn(8, 16).half(), "i": torch.arange(5)}
    torch.save(sd, tmp_path / "m.pt")
    assert main(["encode", str(tmp_path / "m.pt"), str(tmp_path / "m.nwc"), "--lossless"]) == 0
    out = tmp_path / f"d{suffix}"
    assert main(["decode", str(tmp_path / "m.nwc"), str(out)]) == 0
    if suffix == ".npz":
        arrays, dtypes = read_npz(out)
        assert dtypes == {"w": "bfloat16", "h": "float16", "i": "int64"}
        assert np.array_equal(arrays["w"], sd["w"].view(torch.int16).numpy().view(np.uint16))
        return
    from safetensors.torch import load_file

    got = load_file(str(out)) if suffix == ".safetensors" else torch.load(out, weights_only=True)
    assert {k: v.dtype for k, v in got.items()} == {k: v.dtype for k, v in sd.items()}
    assert all(torch.equal(got[k], v) for k, v in sd.items())


def test_outputs_keep_the_umask(tmp_path: Path) -> None:
    script = (f"import os, sys; os.umask(0o027); sys.path.insert(0, {str(REPO)!r}); import nwcodec; "
              f"nwcodec.save_file({{'w': __import__('numpy').ones((8, 8), 'float32')}}, {str(tmp_path / 'a.nwc')!r})")
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert (tmp_path / "a.nwc").stat().st_mode & 0o777 == 0o640
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def _tied_stream() -> bytes:
    w = np.random.default_rng(0).normal(size=(8, 8)).astype(np.float32)
    return nwcodec.encode({"a": w, "b": w}, quality=50, compress_header=False)


def _with_alis(data: bytes, payload: bytes | None) -> bytes:
    chunks = [c for c in unpack(data, known=KNOWN_CHUNKS).chunks if c.type != "ALIS"]
    if payload is not None:
        chunks.append(Chunk("ALIS", payload))
    return pack(chunks, version=(1, 3))


def test_older_decoder_refuses_aliases_by_name() -> None:
    with pytest.raises(UnknownChunkError, match="ALIS"):
        unpack(_tied_stream(), known=KNOWN_CHUNKS - {"ALIS"})


@pytest.mark.parametrize("payload, error", [
    (b'{"aliases": []}', MalformedError), (b'{"aliases": [["c", "nope"]]}', MalformedError),
    (b'{"aliases": [["a", "a"]]}', DuplicateNameError), (b'{"aliases": [["c", "a"], ["c", "a"]]}', DuplicateNameError),
    (b'{"aliases": [["c"]]}', MalformedError), (b'{"aliases": [["c", "a"]], "x": 1}', MalformedError),
    (b'[["c", "a"]]', MalformedError)])
def test_alis_faults_are_typed(payload: bytes, error: type) -> None:
    data = _with_alis(_tied_stream(), payload)
    with pytest.raises(error):
        nwcodec.decode(data)


def test_alis_out_of_place_is_malformed() -> None:
    chunks = unpack(_tied_stream(), known=KNOWN_CHUNKS).chunks
    alis = next(c for c in chunks if c.type == "ALIS")
    chunks = [c for c in chunks if c.type != "ALIS"]
    chunks.insert(1, alis)
    with pytest.raises(MalformedError, match="out of order"):
        nwcodec.decode(pack(chunks, version=(1, 3)))
