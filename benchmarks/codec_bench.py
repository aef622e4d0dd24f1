"""Weight-codec benchmark: coder overhead, MNIST CNN and all-MiniLM-L6-v2 against baselines.

Run: ``make bench-codec`` (or ``python -m benchmarks.codec_bench``). Writes
``benchmarks/results/codec.json``, ``codec.md`` and ``codec_rd.png``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import nwcodec
from nwcodec.bitstream import Reader
from nwcodec.codec.allocate import allocate_steps, probe_sensitivities
from nwcodec.codec.gptq import collect_hessians, compensate
from nwcodec.codec.sources import load_weights
from nwcodec.entropy import choose_table, encode_segment, ideal_bits

from . import baselines, models

OUT = Path(__file__).resolve().parent / "results"
# Reference points measured on this machine class with NNCodec 2.1.3 (../shared/FACTS.md; not rerun here).
NNCODEC = {"mnist": ["qp -14: 80.6 KB at 99.02 %", "qp -12: 68.7 KB at 98.92 %"],
           "minilm": ["qp -38: 18.1 MB at cosine 0.9992, decode 5.5 s, encode 36 s", "qp -34: 15.2 MB at cosine 0.9968"]}


def coder_overhead(n: int = 10_000_000) -> dict:
    """ANS payload vs the ideal information content under the stored table (Laplace data)."""
    rng = np.random.default_rng(0)
    v = np.rint(rng.laplace(0, 4.0, n)).astype(np.int64)
    d = choose_table(v)
    t = d.table()
    segs = [encode_segment(v[k:k + (1 << 20)], t) for k in range(0, n, 1 << 20)]
    words = 0
    for s in segs:
        r = Reader(s)
        r.uvarint()
        words += 4 * r.uvarint()
    ideal = ideal_bits(v, t) / 8
    return {"symbols": n, "ideal_bytes": ideal, "ans_bytes": words,
            "payload_overhead_pct": 100 * (words - ideal) / ideal,
            "segment_headers_and_escapes_bytes": sum(map(len, segs)) - words}


def _timed(fn, *a, repeat: int = 1, **kw):
    best, out = np.inf, None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn(*a, **kw)
        best = min(best, time.perf_counter() - t)
    return out, best


def _ours(arrays, fidelity, label, **kw) -> dict:
    data, te = _timed(nwcodec.encode, arrays, **kw)
    dec, td1 = _timed(nwcodec.decode, data, workers=1, repeat=3)
    _, tda = _timed(nwcodec.decode, data, repeat=3)
    return {"method": label, "bytes": len(data), "fidelity": fidelity(dec), "encode_s": te,
            "decode_s": td1, "decode_parallel_s": tda}


def _baseline(fn, arrays, fidelity, label) -> dict:
    size, dec, te, td = fn(arrays)
    return {"method": label, "bytes": size, "fidelity": fidelity(dec), "encode_s": te, "decode_s": td}


def bench_mnist() -> dict | None:
    if not (models.SHARED / "mnist.npz").is_file():
        return None
    import torch

    net = models.mnist_cnn()
    x, y = models.mnist_test()
    arrays, _ = load_weights(net)
    ref_state = {k: v.clone() for k, v in net.state_dict().items()}

    def acc(dec):
        nwcodec.load_into_module(net, dec)
        a = models.accuracy(net, x, y)
        net.load_state_dict(ref_state)
        return a

    train = np.load(models.SHARED / "mnist.npz", allow_pickle=False)
    xc = torch.from_numpy(((train["x_train"][:2000].astype(np.float32) / 255 - 0.1307) / 0.3081)[:, None])
    with torch.no_grad():
        ref_logp = torch.log_softmax(net(xc), 1)

    def kl(mod):  # calibration distortion on training images (never the test set)
        with torch.no_grad():
            return float(torch.nn.functional.kl_div(torch.log_softmax(mod(xc), 1), ref_logp, log_target=True,
                                                    reduction="batchmean"))

    names = [k for k, v in arrays.items() if v.ndim >= 2]
    sens = probe_sensitivities(net, kl, names, rel_error=0.3)  # low-rate probe: the targets below are low-rate
    net.load_state_dict(ref_state)
    rows = [{"method": "float32 (original)", "bytes": sum(v.nbytes for v in arrays.values()),
             "fidelity": acc(arrays)}]
    rows.append(_baseline(baselines.fp16_zstd, arrays, acc, "float16 + zstd-19"))
    rows.append(_baseline(baselines.int8_zstd, arrays, acc, "int8/tensor + zstd-19"))
    for q in (30, 24, 20):
        rows.append(_ours(arrays, acc, f"nwcodec quality {q}", quality=q))
        rows.append(_ours(arrays, acc, f"nwcodec quality {q} + dq + 4 row classes", quality=q, dq=True, row_classes=4))
    for target in (0.0005, 0.001, 0.002, 0.004):
        steps = allocate_steps(arrays, sens, target)
        rows.append(_ours(arrays, acc, f"nwcodec allocated KL {target}", steps=steps))
        rows.append(_ours(arrays, acc, f"nwcodec allocated KL {target} + dq + 4 row classes", steps=steps, dq=True,
                          row_classes=4))
    return {"model": "mnist_cnn (421,642 params)", "fidelity": "MNIST test accuracy %", "rows": rows}


def bench_minilm() -> dict | None:
    if models.minilm_dir() is None:
        return None
    import torch

    torch.set_num_threads(2)
    st = models.load_minilm()
    e0 = models.embed(st)
    ref_state = {k: v.clone() for k, v in st.state_dict().items()}
    arrays, _ = load_weights(ref_state)

    def cos(dec):
        nwcodec.load_into_module(st, dec)
        c = models.mean_cosine(e0, models.embed(st))
        st.load_state_dict(ref_state)
        return c

    calib = models.CALIBRATION_SENTENCES + models.stdlib_sentences(100)   # disjoint from the evaluation set
    c0 = models.embed_sentences(st, calib)
    names = [k for k, v in arrays.items() if v.ndim >= 2]
    t0 = time.perf_counter()
    sens = probe_sensitivities(st, lambda m: 1 - models.mean_cosine(c0, models.embed_sentences(m, calib)), names)
    st.load_state_dict(ref_state)
    hess = collect_hessians(st, lambda m: models.embed_sentences(m, calib), names)
    calib_s = time.perf_counter() - t0
    rows = [{"method": "float32 (original)", "bytes": sum(v.nbytes for v in arrays.values()), "fidelity": 1.0}]
    rows.append(_baseline(baselines.fp16_zstd, arrays, cos, "float16 + zstd-19"))
    rows.append(_baseline(baselines.int8_zstd, arrays, cos, "int8/tensor + zstd-19"))
    rows.append(_ours(arrays, cos, "nwcodec quality 50 (no calibration)", quality=50))
    for target in (4e-4, 7e-4, 1e-3, 1.5e-3):
        steps = allocate_steps(arrays, sens, target)
        rows.append(_ours(arrays, cos, f"nwcodec allocated 1-cos {target}", steps=steps))
    for target in (7e-4, 1e-3, 1.5e-3):
        steps = allocate_steps(arrays, sens, target)
        t0 = time.perf_counter()
        comp = dict(arrays)
        for k, h in hess.items():
            comp[k] = compensate(arrays[k], h, float(np.float32(steps[k])))
        gptq_s = time.perf_counter() - t0
        row = _ours(comp, cos, f"nwcodec allocated 1-cos {target} + GPTQ", steps=steps)
        row["encode_s"] += gptq_s  # error-compensated rounding is part of encoding
        rows.append(row)
    return {"model": "all-MiniLM-L6-v2 (22,713,216 params)", "calibration_s": calib_s,
            "fidelity": "mean cosine of sentence embeddings vs float32 (32 held-out sentences)", "rows": rows}


def to_markdown(res: dict) -> str:
    o = res["overhead"]
    lines = ["# Weight codec benchmark", "", f"Command: `make bench-codec`. Machine: {res['machine']}.", "",
             f"Coder: {o['symbols']:,} Laplace symbols; ANS payload {o['ans_bytes']:,} B vs ideal "
             f"{o['ideal_bytes']:,.0f} B: overhead **{o['payload_overhead_pct']:.4f} %** "
             f"(segment headers and escapes: {o['segment_headers_and_escapes_bytes']} B).", ""]
    for key in ("mnist", "minilm"):
        m = res.get(key)
        if not m:
            lines += [f"## {key}: skipped (data or model not installed)", ""]
            continue
        lines += [f"## {m['model']}", "", f"Fidelity: {m['fidelity']}.", ""]
        if "calibration_s" in m:
            lines += [f"Calibration (sensitivity probes + GPTQ statistics on held-out text): {m['calibration_s']:.0f} s.", ""]
        lines += [
                  "| method | bytes | fidelity | encode s | decode s (1 proc) | decode s (all cores) |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in m["rows"]:
            lines.append(f"| {r['method']} | {r['bytes']:,} | {r['fidelity']:.5f} | "
                         f"{r.get('encode_s', float('nan')):.2f} | {r.get('decode_s', float('nan')):.3f} | "
                         f"{r.get('decode_parallel_s', float('nan')):.3f} |")
        lines += ["", "NNCodec 2.1.3 reference (FACTS.md, same machine class): " + "; ".join(NNCODEC[key]) + ".", ""]
    return "\n".join(lines)


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key in zip(axes, ("mnist", "minilm")):
        m = res.get(key)
        if not m:
            continue
        for r in m["rows"]:
            mark = "o" if r["method"].startswith("nwcodec") else "s"
            ax.scatter(r["bytes"] / 1e3, r["fidelity"], marker=mark, label=r["method"])
        ax.set_xscale("log")
        ax.set_xlabel("kB")
        ax.set_ylabel(m["fidelity"].split("(")[0])
        ax.set_title(m["model"])
        ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def rerender() -> None:
    """Rewrite codec.md from codec.json (no measurement)."""
    (OUT / "codec.md").write_text(to_markdown(json.loads((OUT / "codec.json").read_text())))


def main() -> None:
    import os
    import platform

    OUT.mkdir(parents=True, exist_ok=True)
    res = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
           "overhead": coder_overhead(), "mnist": bench_mnist(), "minilm": bench_minilm()}
    (OUT / "codec.json").write_text(json.dumps(res, indent=1))
    md = to_markdown(res)
    (OUT / "codec.md").write_text(md)
    plot(res, OUT / "codec_rd.png")
    print(md)


if __name__ == "__main__":
    main()
