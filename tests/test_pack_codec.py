"""Scene packs: joint training, base + delta streams, exact receiver renders, frozen-base additions, rate."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

import nwcodec
from nwcodec.codec.digest import tensor_digest
from nwcodec.nerf.config import load_scene_config
from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.evaluate import evaluate_dataset
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.rays import get_rays
from nwcodec.nerf.train import make_model
from nwcodec.scene import decode_scene
from nwcodec.scene.pack import decode_pack_scene, encode_pack_base, encode_pack_scene, pack_from_base
from nwcodec.scene.pack_model import ScenePack, fit_shared_priors, pack_rate_bits, residual_bits, shared_bits
from nwcodec.scene.pack_train import add_frozen_scene, train_pack

from tests import independent
from tests.fresh_receiver import render_fresh

REPO = Path(__file__).resolve().parents[1]
TINY = load_scene_config(REPO / "configs" / "scene_tiny.yaml")
TRAIN = dataclasses.replace(TINY.train, iters=40, batch_rays=128)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    root = tmp_path_factory.mktemp("pack")
    out = []
    for seed in (1, 2, 3, 4):
        d = generate_scene(root / f"s{seed}", seed=seed, resolution=24, n_train=6, n_val=1, n_test=1)
        out.append((load_blender(d, "train"), load_blender(d, "test")))
    return out


@pytest.fixture(scope="module")
def trained(scenes):
    init = make_model(TINY.model, scenes[0][0], seed=0)
    pack = ScenePack.create(init.config, init, 3)
    fit_shared_priors(pack, 50)
    train_pack(pack, {k: scenes[k][0] for k in range(3)}, TRAIN, lam=1.0)
    base = encode_pack_base(pack)
    return pack, base, [encode_pack_scene(pack, k, base) for k in range(3)]


def _render(model, ds) -> torch.Tensor:
    origins, dirs = get_rays(torch.as_tensor(ds.poses[:1]), ds.H, ds.W, ds.focal)
    with torch.no_grad():
        return model.eval()(origins.reshape(-1, 3), dirs.reshape(-1, 3))["rgb"]


def test_receiver_renders_are_bit_identical(trained, scenes, tmp_path) -> None:
    """Each pack scene (and the base alone, the "mean" scene) decoded and rendered by a fresh process's
    receiver equals the trained pack's render here; the weights agree with the independent decoder."""
    pack, base, streams = trained
    for k, stream in enumerate(streams):
        ds = scenes[k][1]
        want = _render(pack.scene_model(k), ds).numpy()
        got = render_fresh(tmp_path / f"s{k}", stream, ds, want.shape[0], base=base)
        assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
        assert not decode_pack_scene(base, stream).training
        assert independent.digest(independent.decode(stream, base)) == tensor_digest(nwcodec.decode(stream, base=base))
    want = _render(pack.scene_model(None), scenes[0][1]).numpy()
    got = render_fresh(tmp_path / "base", base, scenes[0][1], want.shape[0])
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    assert all(nwcodec.parse(s).base_sha256 == hashlib.sha256(base).digest() for s in streams)


def test_wrong_or_missing_base_is_rejected(trained) -> None:
    _, base, streams = trained
    with pytest.raises(nwcodec.BaseMismatchError):
        decode_pack_scene(base[:-1] + bytes([base[-1] ^ 1]), streams[0])
    with pytest.raises(nwcodec.BaseMismatchError):
        decode_pack_scene(streams[1], streams[0])
    with pytest.raises(nwcodec.BaseMismatchError):
        nwcodec.decode(streams[0])
    with pytest.raises(nwcodec.BaseMismatchError):
        decode_scene(streams[0])
    with pytest.raises(nwcodec.InputError, match="BASE first"):
        decode_pack_scene(streams[0], base)


@torch.no_grad()
def test_shared_rate_is_counted_once(trained) -> None:
    pack = trained[0]
    shared = float(shared_bits(pack, noisy=False))
    per_scene = [float(residual_bits(pack, k, noisy=False)) for k in range(3)]
    assert shared > 0
    assert float(pack_rate_bits(pack, [], noisy=False)) == pytest.approx(shared)
    for n in (1, 2, 3):
        total = float(pack_rate_bits(pack, list(range(n)), noisy=False))
        assert total == pytest.approx(shared + sum(per_scene[:n]), rel=1e-5)
    # residuals at zero cost almost nothing next to the shared latents they reuse
    assert sum(per_scene) < shared


def test_add_scene_to_frozen_base(trained, scenes) -> None:
    _, base, streams = trained
    before = hashlib.sha256(base).hexdigest()
    frozen = pack_from_base(base)
    train_ds, test_ds = scenes[3]
    k, _ = add_frozen_scene(frozen, train_ds, dataclasses.replace(TRAIN, iters=60), lam=1.0)
    new = encode_pack_scene(frozen, k, base)
    assert hashlib.sha256(base).hexdigest() == before
    with pytest.raises(nwcodec.InputError, match="frozen"):
        encode_pack_base(frozen)
    got = decode_pack_scene(base, new)
    assert torch.equal(_render(got, test_ds), _render(frozen.scene_model(k), test_ds))
    for name, w in frozen.numpy_weights(None).items():  # the shared part did not move
        assert np.array_equal(w, nwcodec.decode(base)[name]), name
    untrained = evaluate_dataset(make_model(TINY.model, train_ds, seed=0), test_ds)[0]["mean_psnr"]
    fitted = evaluate_dataset(got, test_ds)[0]["mean_psnr"]
    assert fitted > untrained + 1.0
    decode_pack_scene(base, streams[0])  # the earlier scenes still decode on the same base
