"""Table-build cost on the receiver, which sets the defaults of ``Limits.max_table_alphabet`` and
``max_table_work`` (``python -m benchmarks.table_build``; writes ``benchmarks/results/table_build.md``).

1. constriction 0.5's ``Categorical(perfect=True)`` build time vs alphabet size, for a skewed table
   (one large frequency, all others 1: the slow case) and a uniform one;
2. the fixed cost of one table (read the ``TABL`` payload, normalize, build) at ``n = 1``, in units
   of the quadratic term, which gives ``TABLE_FIXED_WORK``;
3. full decodes of the worst streams the default limits allow (as many tables of one size as
   ``max_table_work`` admits, each used by a one-element tensor).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "results" / "table_build.md"


def _freqs(n: int, skewed: bool) -> np.ndarray:
    from nwcodec.entropy.tables import TOTAL

    f = np.ones(n + 1, dtype=np.int64) if skewed else np.full(n + 1, TOTAL // (n + 1), dtype=np.int64)
    f[0] += TOTAL - int(f.sum())
    return f


def _best(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def build_times() -> list[tuple[int, float, float]]:
    import constriction

    rows = []
    for n in (16, 256, 1024, 2048, 4096, 8192, 16384):
        cat = constriction.stream.model.Categorical
        sk, un = (_freqs(n, s).astype(np.float64) / (1 << 24) for s in (True, False))
        reps = 5 if n <= 4096 else 2
        rows.append((n, _best(lambda: cat(sk, perfect=True), reps), _best(lambda: cat(un, perfect=True), reps)))
    return rows


def fixed_cost() -> float:
    from nwcodec.entropy.describe import HISTOGRAM, TableDescription, read_description, write_description

    raw = write_description(TableDescription(HISTOGRAM, 0, 1, 1, (1,)))
    reps = 500
    t = time.perf_counter()
    for _ in range(reps):
        read_description(raw).table().model()
    return (time.perf_counter() - t) / reps


def worst_stream(n: int, count: int) -> bytes:
    from nwcodec.bitstream import Chunk, Writer, pack, strict_json
    from nwcodec.codec.payloads import write_segments
    from nwcodec.entropy.describe import HISTOGRAM, TableDescription, write_description

    tabs, tens, ents = [], [], []
    for i in range(count):
        d = TableDescription(HISTOGRAM, 0, n, 0, tuple([1 << 20] + [1] * (n - 1)))
        tabs.append(Chunk("TABL", write_description(d)))
        w = Writer()
        w.uvarint(i)
        w.array(np.array([1.0], np.float32), "<f4")
        write_segments(w, np.zeros(1, np.int64), d.table(), 1 << 20)
        tens.append(Chunk("TENS", w.getvalue()))
        ents.append({"name": f"t{i}", "shape": [1], "dtype": "float32", "coding": "quant", "axis": None, "table": i})
    head = Chunk("HEAD", strict_json.dumps({"kind": "weights", "tensors": ents, "tables": count}))
    return pack([head] + tabs + tens)


def main() -> None:
    from nwcodec import decode
    from nwcodec.bitstream import DEFAULT_LIMITS
    from nwcodec.bitstream.limits import TABLE_FIXED_WORK, table_work

    rows = build_times()
    unit = rows[4][1] / (4097 ** 2)          # seconds per (n+1)^2 unit, from the skewed 4096 table
    fixed = fixed_cost()
    from nwcodec import parse
    import os

    load = os.getloadavg()[0]
    lines = ["# Table-build cost (receiver)", "",
             f"`python -m benchmarks.table_build` on this machine ({os.cpu_count()} cores, load average {load:.1f} "
             "while measuring: times scale with the load).",
             "", "| n | skewed build (ms) | uniform build (ms) | skewed / (n+1)² (ns) |", "|---|---|---|---|"]
    lines += [f"| {n} | {sk * 1e3:.2f} | {un * 1e3:.2f} | {sk / (n + 1) ** 2 * 1e9:.2f} |" for n, sk, un in rows]
    lines += ["", f"One work unit ≈ {unit * 1e9:.2f} ns. Fixed cost of one `n = 1` table (read, normalize, build): "
              f"{fixed * 1e6:.0f} µs ≈ {fixed / unit:,.0f} units (`TABLE_FIXED_WORK` = {TABLE_FIXED_WORK:,}).", "",
              f"Worst streams within the defaults (`max_table_work` = {DEFAULT_LIMITS.max_table_work:,}), "
              "each table used by one one-element tensor:", "",
              "| n | tables | stream bytes | parse + build all tables (s) | whole decode (s) |", "|---|---|---|---|---|"]
    for n in (4096, 1024, 256, 16, 1):
        count = DEFAULT_LIMITS.max_table_work // table_work(n)
        data = worst_stream(n, count)

        def tables_only() -> None:
            ps = parse(data)
            for k in range(len(ps.descriptions)):
                ps.table(k).model()

        tt = _best(tables_only, 2)
        t = _best(lambda: decode(data, workers=1), 2)
        lines.append(f"| {n} | {count} | {len(data):,} | {tt:.2f} | {t:.2f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
