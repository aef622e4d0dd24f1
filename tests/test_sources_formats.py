"""Input dialects: safetensors (numpy reader/writer checked against the safetensors library), bfloat16,
Hugging Face model directories (single and sharded), checkpoint wrappers, pickled modules, tied weights."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file as st_load_torch, save_file as st_save_torch

import nwcodec
from nwcodec.errors import InputError
from nwcodec.codec.sources import load_source
from nwcodec.formats import bf16_bits_to_f32, f32_to_bf16_bits, read_safetensors, write_safetensors

DTYPES = [torch.float32, torch.float16, torch.bfloat16, torch.float64, torch.int64, torch.int32, torch.int8,
          torch.uint8, torch.bool]


def _state(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {f"t{i}.{str(dt).split('.')[1]}": (torch.randn(3, 5, generator=g) * 10).to(dt) for i, dt in enumerate(DTYPES)}


def test_safetensors_reader_matches_the_library(tmp_path: Path) -> None:
    sd = _state()
    st_save_torch(sd, str(tmp_path / "a.safetensors"), metadata={"format": "pt"})
    arrays, dtypes, meta = read_safetensors(tmp_path / "a.safetensors")
    assert meta == {"format": "pt"} and set(arrays) == set(sd)
    for k, t in sd.items():
        if t.dtype == torch.bfloat16:
            assert dtypes[k] == "bfloat16" and arrays[k].dtype == np.uint16
            assert np.array_equal(arrays[k], t.view(torch.int16).numpy().view(np.uint16))
        else:
            assert np.array_equal(arrays[k], t.numpy()) and arrays[k].dtype == t.numpy().dtype


def test_safetensors_writer_is_read_by_the_library(tmp_path: Path) -> None:
    sd = _state(1)
    arrays = {k: (t.view(torch.int16).numpy().view(np.uint16) if t.dtype == torch.bfloat16 else t.numpy())
              for k, t in sd.items()}
    dtypes = {k: "bfloat16" for k, t in sd.items() if t.dtype == torch.bfloat16}
    write_safetensors(tmp_path / "b.safetensors", arrays, dtypes, {"note": "x"})
    got = st_load_torch(str(tmp_path / "b.safetensors"))
    for k, t in sd.items():
        assert got[k].dtype == t.dtype and torch.equal(got[k], t), k


def test_bf16_rounding_matches_torch() -> None:
    x = np.concatenate([np.random.default_rng(0).normal(0, 3, 10000).astype(np.float32),
                        np.array([0.0, -0.0, np.inf, -np.inf, 1e-40, 3.4e38, 1.00390625, 1.01171875], np.float32)])
    want = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    assert np.array_equal(f32_to_bf16_bits(x), want)
    assert np.array_equal(bf16_bits_to_f32(want), torch.from_numpy(want.view(np.int16)).view(torch.bfloat16).float().numpy())


@pytest.mark.parametrize("bad", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{}", b"\x02\x00\x00\x00\x00\x00\x00\x00[]",
                                 b"\x40\x00\x00\x00\x00\x00\x00\x00" + b'{"a":{"dtype":"F32","shape":[1000],'
                                 b'"data_offsets":[0,4000]}}' + b" " * 9])
def test_bad_safetensors_is_a_typed_error(tmp_path: Path, bad: bytes) -> None:
    p = tmp_path / "bad.safetensors"
    p.write_bytes(bad)
    with pytest.raises(InputError):
        read_safetensors(p)


def test_bf16_safetensors_encodes_and_decodes_as_bf16(tmp_path: Path) -> None:
    sd = {"w": torch.randn(32, 64).to(torch.bfloat16), "b": torch.randn(32).to(torch.bfloat16)}
    st_save_torch(sd, str(tmp_path / "m.safetensors"))
    data = nwcodec.encode(str(tmp_path / "m.safetensors"), quality=60)
    assert {t["dtype"] for t in nwcodec.parse(data).tensors} == {"bfloat16"}
    (tmp_path / "m.nwc").write_bytes(data)
    got = nwcodec.load_file(tmp_path / "m.nwc", framework="pt")
    assert got["w"].dtype == torch.bfloat16 and torch.equal(got["b"], sd["b"])   # bias coded losslessly
    assert 0 < (got["w"].float() - sd["w"].float()).norm() / sd["w"].float().norm() < 0.05


def _hf_dir(tmp_path: Path, shards: int) -> tuple[Path, dict[str, torch.Tensor]]:
    d = tmp_path / "hf"
    d.mkdir()
    sd = {f"layer{i}.weight": torch.randn(16, 16) for i in range(4)} | {"layer0.bias": torch.randn(16)}
    (d / "config.json").write_text(json.dumps({"model_type": "toy", "hidden_size": 16}))
    if shards == 1:
        st_save_torch(sd, str(d / "model.safetensors"))
        return d, sd
    names = list(sd)
    wm = {}
    for s in range(shards):
        part = {k: sd[k] for k in names[s::shards]}
        fn = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        st_save_torch(part, str(d / fn))
        wm |= {k: fn for k in part}
    (d / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": wm}))
    return d, sd


@pytest.mark.parametrize("shards", [1, 3])
def test_hugging_face_directory(tmp_path: Path, shards: int) -> None:
    d, sd = _hf_dir(tmp_path, shards)
    data = nwcodec.encode(str(d), lossless=True)
    ps = nwcodec.parse(data)
    assert any('"model_type":"toy"' in n for n in ps.notes)
    got = nwcodec.decode(data)
    assert set(got) == set(sd) and all(np.array_equal(got[k], v.numpy()) for k, v in sd.items())


def test_missing_shard_is_named(tmp_path: Path) -> None:
    d, _ = _hf_dir(tmp_path, 2)
    (d / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(InputError, match="shard 'model-00002-of-00002.safetensors' is missing"):
        nwcodec.encode(str(d))


def test_empty_directory_message(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no model.safetensors"):
        nwcodec.encode(str(tmp_path))


@pytest.mark.parametrize("wrap", ["state_dict", "model_state_dict", "model", "ema", "module_prefix", "compiled"])
def test_checkpoint_wrappers(tmp_path: Path, wrap: str) -> None:
    net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 2))
    sd = net.state_dict()
    obj = ({"module." + k: v for k, v in sd.items()} if wrap == "module_prefix" else
           {"_orig_mod." + k: v for k, v in sd.items()} if wrap == "compiled" else
           {wrap: sd, "epoch": 3, "optimizer": {"state": {}, "param_groups": []}})
    torch.save(obj, tmp_path / "ck.pt")
    got = nwcodec.decode(nwcodec.encode(str(tmp_path / "ck.pt"), lossless=True))
    assert list(got) == list(sd)


def test_pickled_module_is_refused_without_unsafe_advice(tmp_path: Path) -> None:
    torch.save(torch.nn.Linear(3, 3), tmp_path / "whole.pt")
    with pytest.raises(InputError) as exc:
        nwcodec.encode(str(tmp_path / "whole.pt"))
    msg = str(exc.value)
    assert "never unpickles" in msg and "state_dict()" in msg
    assert "weights_only=False" not in msg and "\x1b" not in msg and "\n" not in msg


def test_tied_weights_coded_once(tmp_path: Path) -> None:
    emb = torch.nn.Embedding(200, 32)
    head = torch.nn.Linear(32, 200, bias=False)
    head.weight = emb.weight
    net = torch.nn.Sequential(emb, head)
    torch.save(net.state_dict(), tmp_path / "tied.pt")
    src = load_source(str(tmp_path / "tied.pt"))   # sharing survives torch.save / weights_only load
    assert src.aliases == {"1.weight": "0.weight"} and list(src.arrays) == ["0.weight"]
    tied, untied = nwcodec.encode(net), nwcodec.encode(net, tie=False)
    assert nwcodec.parse(tied).version == (1, 3) and nwcodec.parse(untied).version < (1, 3)
    assert len(tied) < 0.6 * len(untied)
    got = nwcodec.decode(tied)
    assert list(got) == ["0.weight", "1.weight"] and np.array_equal(got["1.weight"], got["0.weight"])
    assert np.array_equal(nwcodec.decode(tied, names=["1.weight"])["1.weight"], got["0.weight"])


def test_every_truncation_of_a_safetensors_file_is_a_typed_error(tmp_path: Path) -> None:
    st_save_torch({"a": torch.randn(4, 4), "b": torch.arange(6)}, str(tmp_path / "ok.safetensors"))
    data = (tmp_path / "ok.safetensors").read_bytes()
    p = tmp_path / "cut.safetensors"
    for n in range(len(data)):
        p.write_bytes(data[:n])
        with pytest.raises(InputError):
            read_safetensors(p)


def test_pickled_npz_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "obj.npz", x=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError, match="cannot read"):
        nwcodec.encode(str(tmp_path / "obj.npz"))
