"""Sensitivity allocation and GPTQ rounding: real torch models, real coding."""
from __future__ import annotations

import numpy as np
import torch

import nwcodec
from nwcodec.codec.allocate import allocate_steps, probe_sensitivities
from nwcodec.codec.gptq import collect_hessians, compensate


def _net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.Tanh(), torch.nn.Linear(64, 8)).eval()


def test_allocation_meets_target_and_favours_sensitive_tensors() -> None:
    net = _net()
    x = torch.randn(256, 16, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = net(x)
    net[2].weight.data *= 10  # make the last layer far more sensitive per parameter

    def dist(m):
        with torch.no_grad():
            return float(((m(x) - ref) ** 2).mean())

    with torch.no_grad():
        ref = net(x)
    base_state = {k: v.clone() for k, v in net.state_dict().items()}
    names = ["0.weight", "2.weight"]
    sens = probe_sensitivities(net, dist, names)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in base_state.items())  # probes restore weights
    arrays = {k: v.numpy() for k, v in base_state.items()}
    for target in (1e-4, 1e-3):
        steps = allocate_steps(arrays, sens, target)
        nwcodec.load_into_module(net, nwcodec.decode(nwcodec.encode(base_state, steps=steps)))
        measured = dist(net)
        net.load_state_dict(base_state)
        assert 0.3 * target < measured < 3 * target


def test_gptq_lands_on_grid_and_beats_plain_rounding() -> None:
    net = _net()
    x = torch.randn(512, 16, generator=torch.Generator().manual_seed(2)) @ torch.randn(16, 16)  # correlated inputs
    h = collect_hessians(net, lambda m: m(x), ["0.weight"])["0.weight"]
    w = net[0].weight.detach().numpy()
    step = float(np.float32(0.05))
    wq = compensate(w, h, step)
    q = wq / np.float32(step)
    assert np.allclose(q, np.rint(q), atol=1e-3)
    state = {"0.weight": wq}
    out = nwcodec.decode(nwcodec.encode(state, steps={"0.weight": step}))["0.weight"]
    assert np.array_equal(out, np.rint(q).astype(np.float32) * np.float32(step))
    xn = x.double().numpy()
    plain = np.rint(w / step) * step
    err = lambda a: float((((a - w) @ xn.T) ** 2).mean())
    assert err(wq) < 0.8 * err(plain)
