"""The entropy model's estimate is the coded size: eval bits vs real constriction payloads, on
sparse and dense latents at several rates; prior tables win when they fit, notes say when not."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nwcodec.codec import parse
from nwcodec.entropy import choose_table, coded_bits, encode_segment
from nwcodec.reparam import reparameterize
from nwcodec.reparam.priors import DeepFactorizedPrior, LogisticPrior
from nwcodec.reparam.rate import rate_bits
from nwcodec.reparam.stream import encode_model


def _latents(scale: float, n: int = 20_000, seed: int = 0) -> np.ndarray:
    """Rounded Laplace latents: small ``scale`` is sparse (mostly zeros), large is dense."""
    rng = np.random.default_rng(seed)
    return np.rint(rng.laplace(0.0, scale, n)).astype(np.int64)


def _fit(prior: torch.nn.Module, values: np.ndarray, steps: int = 80) -> torch.nn.Module:
    y = torch.from_numpy(values.astype(np.float32))
    opt = torch.optim.Adam(prior.parameters(), lr=5e-2)
    for _ in range(steps):
        loss = prior.train_bits(y, "round") / y.numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return prior


@pytest.mark.parametrize("scale", [0.1, 0.4, 1.5, 8.0])
@pytest.mark.parametrize("kind", ["logistic", "deep"])
def test_eval_bits_equal_constriction_payload_within_one_percent(scale: float, kind: str) -> None:
    torch.manual_seed(0)
    values = _latents(scale, n=100_000 if scale < 0.3 else 20_000)  # sparse: enough payload that 1 % > 1 ANS word
    prior = LogisticPrior(init_scale=3 * scale + 1) if kind == "logistic" else DeepFactorizedPrior(init_scale=3 * scale + 1)
    _fit(prior, values)
    table = prior.coded_table(values)
    seg = encode_segment(values, table.table())        # real ANS coding (constriction)
    payload = 8 * len(seg)
    info = prior.eval_bits(values, table)
    est = prior.payload_bits([values], table) - 8      # less the segment count varint
    assert abs(payload - est) <= 0.01 * payload, (payload, est)
    assert info <= payload <= info + 32 * 2 + 8 * 12
    assert table.n <= 4096


def test_far_outliers_go_through_escapes_and_are_counted() -> None:
    values = _latents(0.5)
    prior = _fit(LogisticPrior(init_scale=2.0), values)
    values[::5000] = 10**6  # far beyond any tail-mass window
    table = prior.coded_table(values)
    assert table.lo + table.n - 1 < 10**6  # support bounded by tail mass, not by the outliers
    payload = 8 * len(encode_segment(values, table.table()))
    assert abs(payload - (prior.payload_bits([values], table) - 8)) <= 0.01 * payload


def test_training_bits_in_ste_mode_equal_float_prior_bits_of_integers() -> None:
    prior = _fit(LogisticPrior(init_scale=4.0), _latents(1.0, 5000))
    x = torch.randn(5000) * 2
    x.requires_grad_(True)
    ste = prior.train_bits(x, "ste")
    exact = prior.bits(torch.round(x.detach()))
    assert float(ste.detach()) == pytest.approx(float(exact), rel=1e-5)
    ste.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def _tiny_model(lam_scale: float) -> torch.nn.Module:
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 32))
    reparameterize(net, {"prior": "deep", "init_step": lam_scale, "prior_fit_steps": 150})
    return net


@pytest.mark.parametrize("step", [0.05, 0.5, 3.0])   # dense to sparse latents, like low to high lam
def test_stream_latent_payload_matches_estimate_and_notes(step: float) -> None:
    net = _tiny_model(step)
    data, costs, notes = encode_model(net)
    ps = parse(data)
    est = sum(c.coded_bits for c in costs)
    coded = 0
    for t in ps.header["tensors"]:
        if t["coding"] == "latent":
            coded += 8 * len(ps.payloads[ps.header["tensors"].index(t)])
    params_bits = 32 * sum(p.numel() for m in net.modules() if hasattr(m, "parametrizations")
                           for pl in m.parametrizations.values() for d in pl for p in [d.offset, d.log_scale])
    assert abs(coded - params_bits - est) <= 0.01 * est, (coded, est)
    for c in costs:
        written = c.prior_bits + c.prior_table_bits if c.table == "prior" else c.empirical_bits + c.empirical_table_bits
        other = c.empirical_bits + c.empirical_table_bits if c.table == "prior" else c.prior_bits + c.prior_table_bits
        assert written <= other
    lost = sum(c.table != "prior" for c in costs)   # empirical, own or shared
    assert len(notes) == len(ps.notes) == (1 if lost else 0)     # one line however many groups
    if lost:
        assert f"{lost}/{len(costs)} latent groups" in ps.notes[0] and len(ps.notes[0]) < 100


def test_prior_table_close_when_fitted_and_note_when_it_loses() -> None:
    net = _tiny_model(0.5)
    _, costs, notes = encode_model(net)
    # A prior fitted to the very integers it codes (150 steps) beats an empirical table plus its description.
    with torch.no_grad():
        before = float(rate_bits(net, mode="round"))
    opt = torch.optim.Adam([p for m in net.modules() if isinstance(m, DeepFactorizedPrior) for p in m.parameters()], lr=2e-2)
    for _ in range(300):
        loss = rate_bits(net, mode="round")
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(rate_bits(net, mode="round")) < before
    _, costs, notes = encode_model(net)
    for c in costs:  # a prior fitted to the integers codes them almost as well as their own histogram
        assert c.prior_bits + c.prior_table_bits <= 1.1 * (c.empirical_bits + c.empirical_table_bits)
        if c.table != "shared":   # a pool of groups under one table is chosen on the pool's total
            assert (c.table == "prior") == (c.prior_bits + c.prior_table_bits <= c.empirical_bits + c.empirical_table_bits)
    # Wreck one prior: the writer falls back to the empirical table and says why in the stream.
    prior = next(m for m in net.modules() if isinstance(m, DeepFactorizedPrior))
    with torch.no_grad():
        prior.biases[-1].add_(40.0)
    data, costs, notes = encode_model(net)
    assert any(c.table != "prior" for c in costs)
    assert any("empirical tables" in n and "priors' +" in n for n in parse(data).notes)
    vals = np.zeros(10, dtype=np.int64)
    assert coded_bits(choose_table(vals), vals) >= 0


def test_small_groups_share_one_table_when_cheaper(monkeypatch: pytest.MonkeyPatch) -> None:
    """Biases and small layers: one empirical table for their union, stored once; the stream is no
    larger than with a table per group, the estimate still equals the payload, and the decoded
    integers are the exported latents."""
    import nwcodec
    from nwcodec.reparam import stream as stream_mod

    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(40, 24), torch.nn.ReLU(), torch.nn.Linear(24, 16), torch.nn.ReLU(),
                              torch.nn.Linear(16, 10))
    reparameterize(net, {"prior": "deep", "init_step": 0.3, "include_bias": True, "min_numel": 10,
                         "prior_fit_steps": 20})
    shared, costs, _ = encode_model(net)
    assert sum(c.table == "shared" for c in costs) >= 2
    monkeypatch.setattr(stream_mod, "SHARE_GROUP", 0)
    own, own_costs, _ = encode_model(net)
    assert all(c.table != "shared" for c in own_costs)
    assert len(shared) < len(own)
    assert len(parse(shared).descriptions) < len(parse(own).descriptions)
    est = sum(c.coded_bits for c in costs)
    coded = sum(8 * len(parse(shared).payloads[i]) for i, t in enumerate(parse(shared).header["tensors"])
                if t["coding"] == "latent")
    params_bits = 32 * sum(p.numel() for m in net.modules() if hasattr(m, "parametrizations")
                           for pl in m.parametrizations.values() for d in pl for p in [d.offset, d.log_scale])
    assert abs(coded - params_bits - est) <= 0.01 * est + 64
    a, b = nwcodec.decode(shared), nwcodec.decode(own)   # same integers, same decoders: same weights
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_table_pools_join_like_groups_and_count_chunk_framing() -> None:
    """Greedy table pools: two groups above the old small-group size with the same statistics share one
    table (saving at least one TABL chunk: its 12 framing bytes included), while a group of very different
    statistics keeps its own table."""
    from types import SimpleNamespace

    from nwcodec.entropy.choose import payload_bits, table_bits
    from nwcodec.reparam.stream import TABLE_CHUNK_BITS, GroupCost, _share_small_groups

    rng = np.random.default_rng(0)
    like = np.rint(rng.laplace(0, 1.5, 2 * 6000)).astype(np.int64)
    groups = {"a": [like[:6000]], "b": [like[6000:]], "wide": [rng.integers(-60, 61, 6000)]}
    costs, chosen = [], {}
    for g, (v,) in groups.items():
        d = choose_table(v)
        bits = payload_bits(d, [v], 1 << 16)
        costs.append(GroupCost(g, v.size, int((v == 0).sum()), "empirical", bits + 1e9, 0, bits, table_bits(d)))
        chosen[g] = SimpleNamespace(pmf=None, lo=0, table=d)
    own = sum(c.own_total + TABLE_CHUNK_BITS for c in costs)
    ems = {g: SimpleNamespace(max_alphabet=4096) for g in groups}
    _share_small_groups(groups, costs, chosen, ems)
    by = {c.group: c for c in costs}
    assert by["a"].table == by["b"].table == "shared" and by["wide"].table == "empirical"
    assert chosen["a"].table is chosen["b"].table
    pooled = sum(c.coded_bits + c.written_table_bits for c in costs) + 2 * TABLE_CHUNK_BITS
    assert pooled <= own - TABLE_CHUNK_BITS
