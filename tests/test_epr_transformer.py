"""EPR on a tiny random BERT block (no weights package needed): rate-penalized training of the Linear
weights against the float model's own embeddings, coded with nwcodec.encode and decoded by
nwcodec.decode in a fresh process into a fresh float model (benchmarks/bert_stream_eval.py)."""
from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import nwcodec  # noqa: E402
from benchmarks.bert_torch import TorchBert, bert_from_arrays, embed_tokens  # noqa: E402
from benchmarks.epr_transformer import (LINEARS, cached_embeddings, eval_stream, float_subset_state,  # noqa: E402
                                        train_epr, weight_payload_bytes, weight_names)
from benchmarks.models import mean_cosine  # noqa: E402
from nwcodec.formats.bert_embed import BertConfig  # noqa: E402
from nwcodec.formats.safetensors import write_safetensors  # noqa: E402

CFG = BertConfig(vocab_size=60, hidden=32, layers=1, heads=4, intermediate=64, max_positions=24, type_vocab=2,
                 eps=1e-12)
FAST = {"prior_fit_steps": 50}
LR = {"latent": 0.05}


def random_tokens(n: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[1, *rng.choices(range(3, CFG.vocab_size), k=rng.randint(4, 14)), 2] for _ in range(n)]


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[dict[str, np.ndarray], object]:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = TorchBert(CFG)
    arrays = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    path = tmp_path_factory.mktemp("base") / "model.safetensors"
    write_safetensors(path, arrays)
    return arrays, path


def trained(arrays: dict[str, np.ndarray], lam: float, tokens: list[list[int]]):
    teacher = torch.from_numpy(embed_tokens(bert_from_arrays(arrays, CFG), tokens)).float()
    return train_epr(bert_from_arrays(arrays, CFG), 1, tokens, teacher, lam, steps=40, batch=16, lr=LR, reparam=FAST,
                     refit_steps=100)


def test_decoded_in_fresh_process_matches_trained_model(base, tmp_path) -> None:
    arrays, path = base
    train, held = random_tokens(96, 1), random_tokens(40, 2)
    res = trained(arrays, 0.3, train)
    data = nwcodec.encode(res.subset)
    emb, names, _ = eval_stream(data, path, CFG, {"held": held}, tmp_path, "epr")
    assert set(names) == set(float_subset_state(bert_from_arrays(arrays, CFG), 1))
    ours = cached_embeddings(res.model, held)
    assert mean_cosine(emb["held"], ours) > 0.999
    assert np.abs(emb["held"] - ours).max() < 1e-5        # the receiver rebuilds the very eval weights
    original = embed_tokens(bert_from_arrays(arrays, CFG), held)
    cos = mean_cosine(emb["held"], original)
    assert 0.9 < cos < 1.0                                  # coded lossily, still close to the original
    # the post-training codec on the same tensors needs more bytes for a cosine at least as high
    state = float_subset_state(bert_from_arrays(arrays, CFG), 1)
    for q in range(40, 95, 5):
        post = nwcodec.encode(state, quality=q)
        model = nwcodec.load_into_module(bert_from_arrays(arrays, CFG), nwcodec.decode(post), strict=False)
        if mean_cosine(embed_tokens(model, held), original) >= cos:
            break
    else:
        pytest.fail("no post-training quality reached the EPR model's cosine")
    assert len(data) < len(post), (q, len(data), len(post))
    assert len(weight_names(1)) == len(LINEARS)


def test_bits_decrease_with_lam(base) -> None:
    arrays, _ = base
    train = random_tokens(96, 1)
    low, high = (weight_payload_bytes(nwcodec.encode(trained(arrays, lam, train).subset), weight_names(1))
                 for lam in (0.03, 3.0))
    assert high < 0.9 * low, (low, high)
