"""Bounded fuzzing in ``make test``: CRC-repaired structure-aware mutants of every committed vector
(conformance, scene, pack), each decoded in a worker process under a 3 GiB address space (parse,
``workers=1``, ``workers=2`` with digests compared, the scene model for scene/pack vectors).

Target (issue 9): no untyped error, crash, call over 1 s CPU, timeout, memory error or serial/parallel
disagreement. The long run is ``make fuzz`` (100,000 mutants, ``benchmarks/results/fuzz.md``).
"""
from __future__ import annotations

from collections import Counter

import pytest

from tests.fuzzlib import container, mutate, runner
from tests.fuzzlib.runner import FAILURES

SEED = 20260902


@pytest.fixture(scope="module")
def report() -> runner.Report:
    cases = runner.grid_cases(rounds=2, seed=SEED, big_rounds=1, big_classes=8)
    return runner.run(cases, workers=2, hard_s=10.0)


@pytest.mark.slow
def test_every_vector_and_class_is_fuzzed(report) -> None:
    vecs = runner.vectors()
    assert {v.mode for v in vecs} == {"weights", "scene", "pack"}
    assert report.n >= 1500
    assert set(report.counts) == set(mutate.MUTATIONS) and len(mutate.MUTATIONS) >= 25
    # the mutants reach the decoder: some decode, most are refused with typed errors of several classes
    tot = report.totals()
    assert tot["ok"] > 50 and tot["typed"] > report.n // 2
    kinds = Counter(e for c in report.errors.values() for e in c.elements())
    assert {"MalformedError", "LimitExceededError", "TruncatedError", "UnsupportedVersionError",
            "ChecksumError", "BadMagicError", "UnknownChunkError"} <= set(kinds)


@pytest.mark.slow
def test_no_failure_class(report) -> None:
    bad = report.failures
    detail = [(f["vector"], f["mutation"], f["seed"], f["outcome"], f["stage"], f["error"][:160]) for f in bad[:10]]
    assert not bad, f"{len(bad)} failing mutants (rebuild with runner.replay(vector, class, seed)): {detail}"


def test_crc_repair_reaches_past_the_container() -> None:
    """The walker re-frames a vector byte for byte; a repaired payload flip is not a ChecksumError."""
    import random

    import nwcodec
    from nwcodec.errors import BitstreamError, ChecksumError

    v = next(v for v in runner.vectors() if v.name == "conformance/per_channel")
    data = v.path.read_bytes()
    s = container.split(data)
    assert container.join(s) == data
    seen = Counter()
    for seed in range(40):
        m = mutate.mutate("payload_bitflip", random.Random(seed), s)
        try:
            nwcodec.decode(m, workers=1)
            seen["ok"] += 1
        except BitstreamError as exc:
            seen[type(exc).__name__] += 1
    assert "ChecksumError" not in seen and sum(seen.values()) == 40
    with pytest.raises(ChecksumError):
        b = bytearray(data)
        b[len(b) // 2] ^= 1
        nwcodec.decode(bytes(b))


def test_harness_memory_limit_and_crash_detection() -> None:
    """What the harness relies on: RLIMIT_AS makes an over-limit allocation a MemoryError in a child, and a
    worker killed by a signal is reported as a crash and replaced by a working one."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(runner.ROOT), NWC_FUZZ_AS=str(1 << 30))
    code = ("import resource, tests.fuzzlib.worker as w; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30));"
            "\ntry:\n    bytearray(2 << 30)\nexcept MemoryError:\n    print('memory')")
    out = subprocess.run([sys.executable, "-c", code], cwd=runner.ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "memory", out.stderr[-500:]
    w = runner.Worker(dict(env, OMP_NUM_THREADS="1"))
    try:
        ok = w.ask(runner.Case(0, runner.vectors()[0], "none", 0, runner.vectors()[0].path.read_bytes()), 60)
        assert ok["outcome"] == "ok"
        w.proc.kill()   # a worker that dies mid-request is reported as a crash and replaced
        w.proc.wait()
        dead = w.ask(runner.Case(1, runner.vectors()[0], "none", 0, b""), 60)
        assert dead["outcome"] == "crash"
        again = w.ask(runner.Case(2, runner.vectors()[0], "none", 0, b"\x89NWC"), 60)
        assert again["outcome"] == "typed" and again["error"] == "BadMagicError"
    finally:
        w.close()
    assert set(FAILURES) == {"untyped", "crash", "slow", "timeout", "memory", "disagree"}


def test_scene_header_reproducers_are_refused_fast() -> None:
    """The scene/pack mutants that made the earlier 100k run fail (a 40 GB field, ``torch.empty`` on a float
    size, 2^32-layer configs; ``tests/fuzzlib/regress/``) now decode or fail with a BitstreamError, fast, in
    one fresh worker under 3 GiB."""
    import json
    import os

    env = dict(os.environ, PYTHONPATH=str(runner.ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NWC_FUZZ_AS=str(3 << 30), NWC_FUZZ_TORCH="1")
    vecs = {v.name: v for v in runner.vectors()}
    metas = sorted((runner.ROOT / "tests" / "fuzzlib" / "regress").glob("*.json"))
    assert len(metas) >= 40
    w = runner.Worker(env)
    got = Counter()
    try:
        for i, p in enumerate(metas):
            meta = json.loads(p.read_text())
            case = runner.Case(i, vecs[meta["vector"]], meta["mutation"], meta["seed"], p.with_suffix(".nwc").read_bytes())
            res = w.ask(case, 30)
            assert res["outcome"] in ("ok", "typed") and res["cpu_s"] < 1.0, (p.name, res)
            got[res["error"] or "ok"] += 1
    finally:
        w.close()
    assert got["MalformedError"] >= 20, got
