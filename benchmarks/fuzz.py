"""`make fuzz`: structure-aware mutants of every committed vector against the receiver, counted per class.

``python -m benchmarks.fuzz [--n 100000] [--seed 0] [--workers 2]`` writes ``benchmarks/results/fuzz.md``,
``fuzz.json`` and ``fuzz.png`` (partial results every ``--every`` mutants, so a long run can be read while
it goes), and each failing mutant to ``benchmarks/results/fuzz_repro/`` (``<sha256>.nwc`` + ``.json`` with
vector, class and seed: ``tests.fuzzlib.runner.replay`` rebuilds it). Each mutant is decoded in a worker
process under a 3 GiB address-space limit: parse, ``workers=1``, ``workers=2`` (digests compared), and for
scene/pack vectors the scene model. Failure classes: untyped, crash, slow (> 1 s CPU in one call),
timeout (no answer in 30 s), memory, disagree. Target (issue 9): zero in each.
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from collections import Counter
from pathlib import Path

from tests.fuzzlib.runner import FAILURES, Report, cases, run

RESULTS = Path(__file__).resolve().parent / "results"
REPRO = RESULTS / "fuzz_repro"
# What issue 9 measured on the code before parts 1-7 (100,000 mutants + 55 hand-made streams).
BASELINE = {"timeout": "43 hangs (41 from table builds)", "crash": "1 (exit 134 in the allocator, 64 GiB bomb)",
            "untyped": "OSError (mmap), MemoryError (JSON pre-scan)", "memory": "40 GB scene model, 3 GiB+ pre-scan",
            "disagree": "axis ≠ 0 per-channel steps (rel. error 0.69 vs 0.01)", "slow": "18-23 s table stalls"}


def summary(r: Report, args, seconds: float, done: bool) -> dict:
    tot = r.totals()
    fails = [{k: v for k, v in f.items() if k != "data"} for f in r.failures]
    return {"done": done, "mutants": r.n, "target": args.n, "seed": args.seed, "workers": args.workers,
            "seconds": round(seconds, 1), "max_cpu_s": r.max_cpu_s, "totals": dict(tot),
            "failures_total": {k: tot.get(k, 0) for k in FAILURES},
            "per_class": {m: dict(c) for m, c in sorted(r.counts.items())},
            "typed_errors": {m: dict(c.most_common()) for m, c in sorted(r.errors.items())},
            "failures": fails[:500], "machine": platform.platform()}


def write(r: Report, args, seconds: float, done: bool) -> dict:
    s = summary(r, args, seconds, done)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(s, indent=1))
    REPRO.mkdir(exist_ok=True)
    seen: Counter = Counter()
    for f in r.failures:   # at most 3 reproducers per kind of failure
        key = (f["vector"], f["mutation"], f["outcome"], f["error"][:60])
        seen[key] += 1
        if seen[key] > 3:
            continue
        p = REPRO / f"{f['sha256'][:16]}.nwc"
        if not p.exists():
            p.write_bytes(f["data"])
            meta = {k: v for k, v in f.items() if k != "data"}
            p.with_suffix(".json").write_text(json.dumps(meta, indent=1))
    (RESULTS / "fuzz.md").write_text(markdown(s))
    plot(s)
    return s


def markdown(s: dict) -> str:
    cols = ["ok", "typed"] + list(FAILURES)
    state = "complete" if s["done"] else f"PARTIAL ({s['mutants']} of {s['target']})"
    lines = [f"# Fuzzing the receiver ({state})", "",
             f"`python -m benchmarks.fuzz --n {s['target']} --seed {s['seed']} --workers {s['workers']}` "
             f"(`make fuzz`): {s['mutants']} structure-aware mutants of every committed vector "
             f"(`bitstreams/**/*.nwc`), CRCs repaired, each decoded in a worker under a 3 GiB address space "
             f"(parse, `workers=1`, `workers=2` with digests compared, scene model for scene/pack vectors). "
             f"{s['seconds']} s on this 2-core machine (shared); largest CPU time of one receiver call "
             f"{s['max_cpu_s']:.2f} s.", "",
             "## Failure classes: target 0 each, side by side with issue 9's run on the earlier code", "",
             "| class | now | issue 9 (before parts 1-7) |", "|---|---|---|"]
    for k in FAILURES:
        lines.append(f"| {k} | {s['failures_total'][k]} | {BASELINE.get(k, '')} |")
    lines += ["", "`slow` is one receiver call (parse, decode, scene model) over 1 s of CPU time, its children "
              "included; `timeout` is a worker that gives no answer within 30 s of wall time while using CPU (a "
              "starved worker gets up to 10× longer). Layered vectors (6.19) are also decoded at each level "
              "their data holds; `level_prefix` and `levl_json` cut them at and around level boundaries and edit "
              "`LEVL`."]
    lines += ["", "## Per mutation class", "", "| class | " + " | ".join(cols) + " |",
              "|---|" + "---|" * len(cols)]
    for m, c in s["per_class"].items():
        lines.append(f"| {m} | " + " | ".join(str(c.get(k, 0)) for k in cols) + " |")
    lines += ["", "## Typed errors per class (most common first)", ""]
    for m, c in s["typed_errors"].items():
        lines.append(f"* `{m}`: " + ", ".join(f"{e} {n}" for e, n in list(c.items())[:6]))
    if s["failures"]:
        lines += ["", "## Failures (first 50)", "", "| vector | class | outcome | stage | error | reproducer |",
                  "|---|---|---|---|---|---|"]
        for f in s["failures"][:50]:
            err = f["error"].replace("|", "/")[:120]
            lines.append(f"| {f['vector']} | {f['mutation']} | {f['outcome']} | {f['stage']} | {err} | "
                         f"`fuzz_repro/{f['sha256'][:16]}.nwc` |")
    return "\n".join(lines) + "\n"


def plot(s: dict) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = list(s["per_class"])
    fig, ax = plt.subplots(figsize=(12, 5))
    bottom = [0] * len(names)
    for k in ["ok", "typed"] + list(FAILURES):
        vals = [s["per_class"][m].get(k, 0) for m in names]
        if any(vals):
            ax.bar(names, vals, bottom=bottom, label=k)
            bottom = [a + b for a, b in zip(bottom, vals)]
    ax.set_ylabel("mutants")
    ax.set_title(f"receiver outcome per mutation class ({s['mutants']} mutants)")
    ax.tick_params(axis="x", rotation=75, labelsize=7)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "fuzz.png", dpi=110)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--every", type=int, default=5000, help="write partial results every N mutants")
    args = ap.parse_args()
    t0 = time.time()
    last = [0]

    def progress(r: Report) -> None:
        if r.n - last[0] >= args.every:
            last[0] = r.n
            s = write(r, args, time.time() - t0, False)
            print(f"{r.n} mutants, {time.time() - t0:.0f} s, failures {s['failures_total']}", flush=True)

    r = run(cases(args.n, args.seed), workers=args.workers, progress=progress)
    s = write(r, args, time.time() - t0, True)
    print(json.dumps({"mutants": s["mutants"], "totals": s["totals"], "failures": s["failures_total"],
                      "seconds": s["seconds"]}))


if __name__ == "__main__":
    main()
