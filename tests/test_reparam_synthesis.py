"""Parameter decoders: exact eval weights, DCT correctness, torch-free import."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nwcodec.errors import InputError
from nwcodec.reparam import export_latents, reparameterize
from nwcodec.reparam.synthesis import dct_matrix, synthesize
from tests.independent.synth import synthesize as independent_synthesize

REPO = Path(__file__).resolve().parents[1]


class Mixed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(20, 8)
        self.c1 = nn.Conv1d(8, 6, 3)
        self.c2 = nn.Conv2d(1, 7, (3, 5))
        self.fc = nn.Linear(7 * 4 * 2, 5)

    def forward(self, tokens: torch.Tensor, img: torch.Tensor) -> torch.Tensor:
        a = self.c1(self.emb(tokens).transpose(1, 2)).mean()
        return self.fc(self.c2(img).flatten(1)) + a


@pytest.mark.parametrize("per_channel", [False, True])
def test_eval_weights_equal_synthesize_bit_exactly(per_channel: bool) -> None:
    torch.manual_seed(0)
    model = reparameterize(Mixed(), {"min_numel": 16, "per_channel": per_channel, "prior_fit_steps": 0})
    for p in model.parameters():  # move away from the warm start so decoder params are non-trivial
        p.data += 0.3 * torch.randn_like(p)
    model.eval()
    latents, _, _ = export_latents(model)
    decoders = {lt.name: lt.decoder for lt in latents}
    assert decoders == {"emb.weight": "affine", "c1.weight": "dct", "c2.weight": "dct", "fc.weight": "affine"}
    modules = dict(model.named_modules())
    for lt in latents:
        path, tensor = lt.name.rsplit(".", 1)
        w = getattr(modules[path], tensor).detach().numpy()
        assert w.dtype == np.float32 and w.shape == lt.shape == lt.latent.shape
        # against the independent decoder (tests/independent, written from FORMAT.md 6.7), not the package
        ref = independent_synthesize(lt.decoder, lt.latent, {k: np.asarray(v, np.float32) for k, v in lt.params.items()})
        assert np.array_equal(w.view(np.uint32), ref.view(np.uint32)), lt.name
    model.train()  # train-mode torch decode agrees to float rounding
    for lt in latents:
        path, tensor = lt.name.rsplit(".", 1)
        w = getattr(modules[path], tensor).detach().numpy()
        np.testing.assert_allclose(w, synthesize(lt.decoder, lt.latent, lt.params), rtol=1e-5, atol=1e-6)


def test_dct_decoder_matches_float64_inverse_dct() -> None:
    rng = np.random.default_rng(1)
    latent = rng.integers(-9, 10, size=(4, 3, 3, 5)).astype(np.int32)
    step = rng.uniform(0.5, 2, size=(3, 5)).astype(np.float32)
    scale, offset = rng.uniform(0.1, 1, 4).astype(np.float32), rng.normal(size=4).astype(np.float32)
    w = synthesize("dct", latent, {"step": step, "scale": scale, "offset": offset})
    cu, cv = dct_matrix(3).astype(np.float64), dct_matrix(5).astype(np.float64)
    ref = np.einsum("ux,vy,oiuv->oixy", cu, cv, latent * step.astype(np.float64))
    ref = ref * scale[:, None, None, None] + offset[:, None, None, None]
    np.testing.assert_allclose(w, ref, rtol=1e-5, atol=1e-5)
    for n in range(1, 9):
        np.testing.assert_allclose(dct_matrix(n).astype(np.float64) @ dct_matrix(n).T, np.eye(n), atol=1e-6)


def test_affine_broadcasts_per_channel_and_per_tensor() -> None:
    latent = np.arange(6, dtype=np.int32).reshape(2, 3)
    w = synthesize("affine", latent, {"scale": np.array([1, 2], np.float32), "offset": np.array([0, 1], np.float32)})
    assert w.dtype == np.float32 and w.tolist() == [[0, 1, 2], [7, 9, 11]]
    w1 = synthesize("affine", latent, {"scale": np.array([0.5], np.float32), "offset": np.array([1], np.float32)})
    assert w1.tolist() == [[1, 1.5, 2], [2.5, 3, 3.5]]


@pytest.mark.parametrize("decoder, params", [
    ("nope", {}),
    ("affine", {"scale": np.ones(1, np.float32)}),
    ("affine", {"scale": np.ones(3, np.float32), "offset": np.zeros(1, np.float32)}),
    ("dct", {"scale": np.ones(1, np.float32), "offset": np.zeros(1, np.float32), "step": np.ones((2, 2), np.float32)}),
])
def test_bad_decoder_inputs_raise_input_error(decoder: str, params: dict) -> None:
    with pytest.raises(InputError):
        synthesize(decoder, np.zeros((2, 1, 3, 3), np.int32), params)


def test_synthesis_importable_without_torch() -> None:
    code = ("import sys; import nwcodec.reparam; from nwcodec.reparam.synthesis import synthesize; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
