"""nwcodec vs NNCodec 2.1.3 (MPEG NNC reference, ``use_dq=True``), side by side in one run.

Run: ``make bench-nncodec`` (or ``python -m benchmarks.nncodec_bench [--models KEY ...]``). Both codecs see the
same float32 tensors per model (one ``.pt`` of float tensors; NNCodec runs in ``.venv-nncodec`` as a subprocess,
see :mod:`benchmarks.nncodec_runner`). Per point: bytes, fidelity, encode s, decode s (one worker). Bytes at
matched fidelity come from each method's frontier, log(bytes) interpolated in fidelity (:mod:`nncodec_match`).
Resumable: each finished model's rows are cached in ``runs/nncodec_bench/<model>/result.json``; NNCodec points
per qp in ``.../nncodec/summary.json``. Writes ``benchmarks/results/nncodec.{md,json}`` and ``nncodec_rd.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np

from . import nncodec_env
from .nncodec_match import common_range, frontier, ratio_at, weight_snr_db
from .nncodec_models import SNR_LEVELS, ModelSpec, all_models

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results"
WORK = REPO / "runs" / "nncodec_bench"
RUNNER = Path(__file__).resolve().parent / "nncodec_runner.py"
# nwcodec variants: (label, extra keyword arguments of nwcodec.encode besides quality). Data-free, no calibration.
# "tensor-rule": every tensor at the same relative error (allocation="tensor", the default before the data-free
# size allocation); the plain labels use the default (allocation="size").
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("nwcodec", {}),
    ("nwcodec dq", {"dq": True}),
    ("nwcodec rc4", {"row_classes": 4}),
    ("nwcodec tensor-rule", {"allocation": "tensor"}),
    ("nwcodec dq tensor-rule", {"dq": True, "allocation": "tensor"}),
    ("nwcodec rc4 tensor-rule", {"row_classes": 4, "allocation": "tensor"}),
    ("nwcodec dq+rc4 tensor-rule", {"dq": True, "row_classes": 4, "allocation": "tensor"}),
]
REFERENCE = "NNCodec 2.1.3"


def timed_decode(fn: Callable[[], Any], budget_s: float = 3.0, repeats: int = 3) -> tuple[Any, float]:
    """Best of up to ``repeats`` calls, stopping once ``budget_s`` is spent (same rule as the runner)."""
    best, spent, out = np.inf, 0.0, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t
        best, spent = min(best, dt), spent + dt
        if spent > budget_s:
            break
    return out, best


def nncodec_points(spec: ModelSpec, ref: dict[str, np.ndarray], fidelity, work: Path) -> list[dict]:
    """NNCodec at ``spec.qps`` through the runner in its own venv, each decoded point scored here."""
    import torch

    pt = work / "model.pt"
    if not pt.is_file():
        torch.save(OrderedDict((k, torch.from_numpy(v)) for k, v in ref.items()), pt)   # NNCodec wants OrderedDict
    python = nncodec_env.ensure()
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run([str(python), str(RUNNER), str(pt), str(work / "nncodec"), "--qps", *map(str, spec.qps)],
                   check=True, env=env)
    rows = json.loads((work / "nncodec" / "summary.json").read_text())
    out = []
    for r in sorted(rows, key=lambda r: r["qp"]):
        if r["qp"] not in spec.qps:
            continue
        with np.load(work / "nncodec" / r["npz"], allow_pickle=False) as z:
            dec = {k: z[k] for k in z.files}
        out.append({"method": REFERENCE, "setting": f"qp {r['qp']}", "bytes": r["bytes"], "fidelity": fidelity(dec),
                    "snr_db": weight_snr_db(ref, dec), "encode_s": r["encode_s"], "decode_s": r["decode_s"]})
        print(f"  {spec.key} NNCodec qp {r['qp']}: {r['bytes']:,} B, fidelity {out[-1]['fidelity']:.5f}", flush=True)
    return out


def nwcodec_points(spec: ModelSpec, ref: dict[str, np.ndarray], fidelity, done: dict | None = None) -> list[dict]:
    """nwcodec's variants at ``spec.qualities``; points in ``done`` (by (label, setting)) are reused."""
    import nwcodec

    out = []
    for label, kw in VARIANTS:
        for q in spec.qualities:
            if (label, f"quality {q:g}") in (done or {}):
                out.append(done[(label, f"quality {q:g}")])
                continue
            t = time.perf_counter()
            data = nwcodec.encode(ref, quality=q, **kw)
            te = time.perf_counter() - t
            dec, td = timed_decode(lambda: nwcodec.decode(data, workers=1))
            out.append({"method": label, "setting": f"quality {q:g}", "bytes": len(data), "fidelity": fidelity(dec),
                        "snr_db": weight_snr_db(ref, dec), "encode_s": te, "decode_s": td})
            print(f"  {spec.key} {label} q{q:g}: {len(data):,} B, fidelity {out[-1]['fidelity']:.5f}, "
                  f"encode {te:.2f} s, decode {td:.3f} s", flush=True)
    return out


def matched(levels: list[float] | None, rows: list[dict], float_fidelity: float | None, key: str = "fidelity") -> dict:
    """Per variant: bytes and decode-time ratios vs NNCodec at fidelity ``levels`` (None: NNCodec's frontier
    fidelities) of the rows' ``key`` (the task fidelity, or ``snr_db``)."""
    rows = [dict(r, fidelity=r[key]) for r in rows]
    ref = [r for r in rows if r["method"] == REFERENCE]
    levels = list(levels) if levels else sorted({r["fidelity"] for r in frontier(ref)})
    out = {}
    for label, _ in VARIANTS:
        ours = [r for r in rows if r["method"] == label]
        rng = common_range(ours, ref)
        pts = []
        for lv in levels:
            b = ratio_at(ours, ref, lv)
            if b is not None:
                pts.append({"fidelity": lv, "bytes_ratio": b, "decode_ratio": ratio_at(ours, ref, lv, "decode_s")})
        out[label] = {"common_range": rng, "points": pts}
    return {"levels": levels, "float_fidelity": float_fidelity, "variants": out}


def bench_model(spec: ModelSpec, redo: bool = False) -> dict | None:
    """One model's rows (cached in ``runs/nncodec_bench/<key>/result.json``). A cache made with other qps,
    qualities or variant labels is extended: only the missing points run (a variant whose kwargs change needs a
    new label, or ``redo``, which runs every nwcodec point again; NNCodec points stay cached per qp)."""
    work = WORK / spec.key
    cache = work / "result.json"
    plan = {"qps": list(spec.qps), "qualities": list(spec.qualities), "variants": [l for l, _ in VARIANTS]}
    old = json.loads(cache.read_text()) if cache.is_file() else None
    if old is not None and not redo and old.get("plan") == plan:
        return old
    done = {} if redo or old is None else {(r["method"], r["setting"]): r for r in old["rows"]
                                           if r["method"] != REFERENCE}
    if not spec.available():
        print(f"{spec.key}: skipped (model or data not installed)", flush=True)
        return None
    work.mkdir(parents=True, exist_ok=True)
    print(f"{spec.key}: {spec.title}", flush=True)
    ref, fidelity = spec.load()
    float_fid = fidelity(ref)
    float_fid = float_fid if np.isfinite(float_fid) else None      # weight SNR of the float model: infinite
    rows = nncodec_points(spec, ref, fidelity, work) + nwcodec_points(spec, ref, fidelity, done)
    res = {"key": spec.key, "title": spec.title, "source": spec.source, "fidelity": spec.fidelity_label,
           "params": int(sum(v.size for v in ref.values())), "float32_bytes": int(sum(v.nbytes for v in ref.values())),
           "float_fidelity": float_fid, "plan": plan, "rows": rows}
    res["matched"] = matched(spec.levels, rows, float_fid)
    res["matched_snr"] = matched(list(SNR_LEVELS), rows, None, "snr_db")
    cache.write_text(json.dumps(res, indent=1))
    return res


def _gmean(xs: list[float]) -> float:
    return float(np.exp(np.mean(np.log(xs))))


def _fmt_fid(x: float) -> str:
    return f"{x:.4f}" if abs(x) < 2 else f"{x:.2f}"


def to_markdown(results: list[dict], machine: str) -> str:
    lines = ["# nwcodec vs NNCodec 2.1.3 (MPEG NNC reference)", "",
             f"Command: `make bench-nncodec`. Machine: {machine}; one torch thread, one process, decode with one worker "
             "(best of up to 3 decodes within 3 s, both codecs). NNCodec: `compress_model(qp=…, use_dq=True)` "
             "(its defaults: qp_density 2, non-weight tensors at qp −75); nwcodec: `nwcodec.encode(quality=…, …)`, "
             "data-free (no calibration); 1-D tensors lossless. Both codecs code the same float32 tensors "
             "(int buffers dropped).", "",
             "**Bytes at matched fidelity** = nwcodec bytes / NNCodec bytes, each method's frontier interpolated "
             "log-linearly in fidelity (never extrapolated); *decode* = nwcodec / NNCodec decode seconds, same "
             "interpolation. MNIST accuracy levels are NNCodec's own frontier points.", "",
             "Variants (`nwcodec.encode(quality=q, **kwargs)`): " + "; ".join(
                 f"*{label}* {kw or '{}'}" for label, kw in VARIANTS) + ".", ""]
    for title, mkey in (("task fidelity", "matched"), ("weight SNR 20/25/30/35/40 dB (≥ 2-D tensors)", "matched_snr")):
        lines += [f"## Summary: bytes ratio at matched {title} (geometric mean over levels; range)", "",
                  "| model | params | " + " | ".join(l for l, _ in VARIANTS) + " | decode ratio nwcodec | "
                  "decode ratio dq |", "|---|---:|" + "---:|" * (len(VARIANTS) + 2)]
        for r in results:
            if mkey == "matched_snr" and r["fidelity"].startswith("weight SNR"):
                continue
            cells = []
            for label, _ in VARIANTS:
                br = [p["bytes_ratio"] for p in r[mkey]["variants"][label]["points"]]
                cells.append(f"{_gmean(br):.3f} ({min(br):.2f}–{max(br):.2f})" if br else "–")
            for label in ("nwcodec", "nwcodec dq"):
                dr = [p["decode_ratio"] for p in r[mkey]["variants"][label]["points"]]
                cells.append(f"{_gmean(dr):.3f}" if dr else "–")
            lines.append(f"| {r['key']} | {r['params']:,} | " + " | ".join(cells) + " |")
        lines.append("")
    for r in results:
        lines += [f"## {r['title']}", "", f"Source: {r['source']}. {r['params']:,} float parameters "
                  f"({r['float32_bytes']:,} B float32). Fidelity: {r['fidelity']}"
                  + (f"; float model {_fmt_fid(r['float_fidelity'])}." if r["float_fidelity"] is not None else "."), ""]
        for mkey, what in (("matched", r["fidelity"]), ("matched_snr", "weight SNR dB")):
            if mkey == "matched_snr" and r["fidelity"].startswith("weight SNR"):
                continue
            lv = r[mkey]["levels"]
            lines += [f"Bytes ratio (decode-time ratio) vs NNCodec at matched {what}:", "",
                      "| variant | " + " | ".join(f"@{_fmt_fid(x)}" for x in lv) + " |", "|---|" + "---:|" * len(lv)]
            for label, _ in VARIANTS:
                m = {p["fidelity"]: p for p in r[mkey]["variants"][label]["points"]}
                lines.append(f"| {label} | " + " | ".join(
                    f"{m[x]['bytes_ratio']:.3f} ({m[x]['decode_ratio']:.2f})" if x in m else "–" for x in lv) + " |")
            lines.append("")
        lines += ["| method | setting | bytes | fidelity | weight SNR dB | encode s | decode s |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for row in r["rows"]:
            lines.append(f"| {row['method']} | {row['setting']} | {row['bytes']:,} | {_fmt_fid(row['fidelity'])} | "
                         f"{row['snr_db']:.2f} | {row['encode_s']:.2f} | {row['decode_s']:.3f} |")
        lines.append("")
    return "\n".join(lines)


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    n = len(results)
    cols = min(4, n)
    rows_ = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 3.4 * rows_), squeeze=False)
    for ax, r in zip(axes.flat, results):
        top = r["float_fidelity"]
        lo = None if top is None else top - (3.0 if "accuracy" in r["fidelity"] else
                                             3 * (top - min(r["matched"]["levels"])))
        for method in [REFERENCE] + [l for l, _ in VARIANTS]:
            pts = sorted((p for p in r["rows"] if p["method"] == method), key=lambda p: p["bytes"])
            pts = [p for p in pts if lo is None or p["fidelity"] >= lo]
            ax.plot([p["bytes"] / 1e3 for p in pts], [p["fidelity"] for p in pts],
                    "s-" if method == REFERENCE else "o-", ms=3, lw=1, label=method)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(r["key"], fontsize=9)
        ax.set_xlabel("kB")
        ax.set_ylabel(r["fidelity"].split("(")[0], fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", nargs="*", help="model keys (default: all)")
    p.add_argument("--redo", action="store_true", help="ignore cached results of the chosen models")
    a = p.parse_args()
    import torch

    torch.set_num_threads(1)
    specs = [s for s in all_models() if not a.models or s.key in a.models]
    results = []
    for spec in specs:
        t = time.perf_counter()
        r = bench_model(spec, a.redo)
        if r is not None:
            results.append(r)
            print(f"{spec.key}: done ({time.perf_counter() - t:.0f} s)", flush=True)
            machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
            OUT.mkdir(exist_ok=True)
            (OUT / "nncodec.json").write_text(json.dumps({"machine": machine, "variants": VARIANTS,
                                                          "models": results}, indent=1))
            (OUT / "nncodec.md").write_text(to_markdown(results, machine))
            plot(results, OUT / "nncodec_rd.png")


if __name__ == "__main__":
    main()
