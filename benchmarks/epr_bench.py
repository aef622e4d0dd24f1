"""EPR benchmark: MNIST LeNet-300-100, LeNet-5-Caffe and the shared ``mnist_cnn.pth`` trained under a
rate penalty vs the same float models compressed after training by the core codec (full test set).

Run: ``make bench-epr`` (``python -m benchmarks.epr_bench [--models ...] [--work DIR]``; ``--quick`` for
a smoke run in a temporary folder). Resumable: every finished EPR run leaves ``summary.json`` and
``model.nwc`` under ``--work`` (default ``runs/epr_bench``) and is not trained again; a killed run
resumes from its last epoch checkpoint. Results are rewritten after every run, so a partial
``benchmarks/results/epr.md`` is always consistent with what has finished.

Per model: the float model (``pretrain_epochs`` of its config, or the shared checkpoint), the
post-training codec (``nwcodec.encode(quality=q)``), one EPR fine-tune per lam (the settings of
``configs/mnist_<model>.yaml``; lam multiplies bits per parameter), and the paper's rows, labelled.
EPR bytes are the whole ``model.nwc`` the training wrote; estimated bits are the entropy models'
exact bits of the integer latents under the tables written; coded bits the latent payloads of the
stream. Every stream is decoded in this process and its test error measured on the decoded weights.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import torch

import nwcodec
from nwcodec.train.classify import latent_segment_bits, pretrain, test_error, to_tensors, train_classifier
from nwcodec.train.config import load_config
from nwcodec.train.distributed import DistInfo
from nwcodec.train.mnist import load_mnist_npz
from nwcodec.train.models import build_model

from . import models

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results"
CPU = torch.device("cpu")
CONFIGS = {"lenet300": "mnist_lenet300", "lenet5": "mnist_lenet5", "mnist_cnn": "mnist_cnn_warm"}
TARGETS = {"lenet300": (6000, 1.9, "max_error"), "lenet5": (2000, 1.0, "max_error"),
           "mnist_cnn": (12000, 1.05, "max_error")}  # (bytes, test error %): ≥ 98.95 % accuracy
PAPER = {"lenet300": (8560, 1.9), "lenet5": (2840, 1.0)}  # Oktay et al. 2020, Table 1 (KB = 1000 B)
QUALITIES = [14, 18, 24, 30]
QUICK = {"pretrain_epochs": 1, "max_steps": 40, "lams": [2.0], "qualities": [20]}


def float_model(name: str, cfg: dict, train_set, work: Path) -> tuple[dict, float]:
    """The float start point: the configured warm start, or ``pretrain_epochs`` of plain training
    (cached in ``work`` so a resumed benchmark does not train it again)."""
    if cfg["warm_start"] is not None:
        net = build_model(name)
        path = Path(cfg["warm_start"])
        path = path if path.is_absolute() else REPO / path
        net.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
        return net.state_dict(), 0.0
    cache = work / f"{name}_float.pt"
    meta = work / f"{name}_float.json"
    if cache.is_file() and meta.is_file():
        return torch.load(cache, weights_only=True), json.loads(meta.read_text())["seconds"]
    torch.manual_seed(cfg["seed"])
    net = build_model(name)
    seconds = pretrain(net, train_set, cfg, DistInfo(), CPU)
    torch.save(net.state_dict(), cache)
    meta.write_text(json.dumps({"seconds": seconds, "epochs": cfg["pretrain_epochs"]}))
    return net.state_dict(), seconds


def post_training_rows(name: str, state: dict, qualities: list[int], test_set, seconds: float) -> list[dict]:
    """The float model coded by ``nwcodec.encode(quality=q)``: bytes and decoded test error."""
    n = sum(v.numel() for v in state.values())
    rows = []
    for q in qualities:
        data = nwcodec.encode({k: v.numpy() for k, v in state.items()}, quality=q)
        net = build_model(name)
        nwcodec.load_into_module(net, nwcodec.decode(data))
        rows.append({"model": name, "method": "post-training (nwcodec.encode)", "setting": f"quality {q}",
                     "test_error_pct": 100 * test_error(net, test_set, 2000, CPU), "bytes": len(data),
                     "bits_per_param": 8 * len(data) / n, "train_seconds": round(seconds, 1)})
    return rows


def decoded_error(name: str, stream: Path, test_set) -> float:
    """Test error of a plain model loaded from the decoded stream."""
    net = build_model(name)
    nwcodec.load_into_module(net, nwcodec.decode(stream.read_bytes()))
    return test_error(net, test_set, 2000, CPU)


def run_dir_of(work: Path, name: str, lam: float) -> Path:
    """Folder of the EPR run of model ``name`` at ``lam`` (its ``summary.json`` marks it finished)."""
    return work / f"epr_{name}" / f"lam_{lam:g}"


def epr_row(name: str, cfg: dict, lam: float, warm: Path, work: Path, test_set, pre_seconds: float) -> dict:
    """One EPR fine-tune at ``lam`` (skipped when its summary exists), with its decoded error."""
    run_dir = run_dir_of(work, name, lam)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        run_cfg = {**cfg, "lam": [lam], "warm_start": str(warm), "pretrain_epochs": 0, "resume": True,
                   "progress": False, "encode": True, "write_stream": True, "out_dir": str(run_dir)}
        train_classifier(run_cfg)
    run = json.loads(summary_path.read_text())
    dec_err = decoded_error(name, Path(run["stream"]), test_set)
    run["coded_latent_bits"] = latent_segment_bits(Path(run["stream"]).read_bytes())
    return {"model": name, "method": "EPR (rate-penalized training)", "setting": f"lam {lam:g}",
            "test_error_pct": 100 * run["test_error"], "decoded_test_error_pct": 100 * dec_err,
            "bytes": run["coded_bytes"], "estimated_bits": round(run["estimated_bits"]),
            "coded_latent_bits": run["coded_latent_bits"], "training_bits": round(run["training_bits"]),
            "estimate_vs_coded_pct": 100 * (run["estimated_bits"] / max(run["coded_latent_bits"], 1) - 1),
            "zero_latent_share": run["zero_latent_share"], "bits_per_param": 8 * run["coded_bytes"] / run["num_params"],
            "train_seconds": round(pre_seconds + run["train_seconds"], 1), "epr_seconds": run["train_seconds"],
            "epochs": run["epochs"], "steps": run["steps"], "tables": run["tables"], "notes": run["notes"],
            "bytes_prior_tables": run["coded_bytes_prior_tables"], "bytes_auto_tables": run["coded_bytes_auto_tables"],
            "header_bytes": run["header_bytes"], "table_bytes": run["table_bytes"],
            "latent_payload_bytes": run["latent_payload_bytes"], "float_payload_bytes": run["float_payload_bytes"]}


SETTING_KEYS = ("pretrain_epochs", "epochs", "lr", "lr_decay", "reparam", "batch_size", "rate_mode", "warm_start",
                "prior_refit_steps", "distill", "distill_temperature")


def run_settings(cfg: dict) -> dict:
    """The config values that shape an EPR run (reported beside its rows)."""
    return {k: cfg[k] for k in SETTING_KEYS if k in cfg}


def bench_model(name: str, quick: bool, work: Path, lams: list[float] | None) -> dict:
    """Float model, post-training coding, one EPR run per lam; writes ``work/<name>.json`` after each run."""
    torch.set_num_threads(1)  # a shared 2-core machine: more threads oversubscribe it
    work.mkdir(parents=True, exist_ok=True)
    train, test = load_mnist_npz(models.SHARED / "mnist.npz")
    train_set, test_set = to_tensors(train), to_tensors(test)
    cfg = load_config(REPO / "configs" / f"{CONFIGS[name]}.yaml")
    cfg["data"]["path"] = str(models.SHARED / "mnist.npz")
    cfg["progress"] = False
    plan = {"lams": lams or cfg["lam"], "qualities": QUALITIES}
    if quick:
        cfg.update(pretrain_epochs=QUICK["pretrain_epochs"], max_steps=QUICK["max_steps"], epochs=1)
        plan.update(lams=QUICK["lams"], qualities=QUICK["qualities"])
    state, pre_seconds = float_model(name, cfg, train_set, work)
    warm = work / f"{name}_warm.pt"
    torch.save(state, warm)
    net = build_model(name)
    net.load_state_dict(state)
    n = sum(v.numel() for v in state.values())
    float_setting = "shared mnist_cnn.pth" if cfg["warm_start"] else f"{cfg['pretrain_epochs']} epochs"
    res = {"model": name, "params": n, "target_bytes": TARGETS[name][0], "target_error_pct": TARGETS[name][1],
           "settings": run_settings(cfg), "rows": []}
    res["rows"].append({"model": name, "method": "float32 (no compression)", "setting": float_setting,
                        "test_error_pct": 100 * test_error(net, test_set, 2000, CPU), "bytes": 4 * n,
                        "bits_per_param": 32.0, "train_seconds": round(pre_seconds, 1)})
    if name in PAPER:
        res["rows"].append({"model": name, "method": "EPR paper (Oktay et al. 2020, reported)", "setting": "paper",
                            "test_error_pct": PAPER[name][1], "bytes": PAPER[name][0],
                            "bits_per_param": 8 * PAPER[name][0] / n, "train_seconds": None})
    res["rows"] += post_training_rows(name, state, plan["qualities"], test_set, pre_seconds)
    (work / f"{name}.json").write_text(json.dumps(res, indent=1))
    for lam in plan["lams"]:
        res["rows"].append(epr_row(name, cfg, lam, warm, work, test_set, pre_seconds))
        (work / f"{name}.json").write_text(json.dumps(res, indent=1))
    return res


def _kb(b: float | None) -> str:
    return "" if b is None else f"{b:,.0f}"


def to_markdown(res: dict) -> str:
    lines = ["# EPR benchmark (MNIST, full 10,000-image test set)", "",
             f"Command: `{res['command']}`. Machine: {res['machine']}; torch threads: {res['threads']}; "
             f"load average at start {res['load_start']:.1f}, at end {res['load_end']:.1f} (shared machine). "
             f"Wall time of this invocation {res['wall_seconds']:.0f} s. {res.get('status', '')}", "",
             "Bytes are whole `.nwc` streams (header, tables, payloads, float side information). EPR rows: "
             "*estimated bits* = the entropy models' exact bits of the integer latents under the very tables "
             "written (ANS word rounding and framing included), *coded bits* = the stream's latent segment lists "
             "(its latent payloads less the decoders' float32 params), *training bits* = the rate the optimizer saw at the "
             "end. Test error is measured on the weights decoded from the stream. lam multiplies bits per "
             "parameter (`loss = cross-entropy + lam * bits / n_params`).", ""]
    carried = [m for m in res["models"] if m.get("carried_from")]
    if carried:
        lines += ["Rows of " + ", ".join(f"**{m['model']}** (`{m['carried_from']}`)" for m in carried)
                  + " are from an earlier invocation, with the settings listed for them below.", ""]
    lines += ["| model | method | lam/quality | test error % | bytes | bits/param | estimated bits | coded bits | "
             "training bits | zero latents | train s |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for m in res["models"]:
        for r in m["rows"]:
            epr = r["method"].startswith("EPR (")
            err = r.get("decoded_test_error_pct", r["test_error_pct"])
            lines.append(f"| {r['model']} | {r['method']} | {r['setting']} | {err:.2f} | {r['bytes']:,} | "
                         f"{r['bits_per_param']:.4f} | {_kb(r.get('estimated_bits')) if epr else ''} | "
                         f"{_kb(r.get('coded_latent_bits')) if epr else ''} | {_kb(r.get('training_bits')) if epr else ''} | "
                         f"{'' if not epr else format(r['zero_latent_share'], '.1%')} | "
                         f"{'' if r['train_seconds'] is None else format(r['train_seconds'], '.0f')} |")
    lines += ["", "## EPR stream breakdown", "",
              "| model | lam | bytes (all prior tables) | bytes (all empirical) | header | tables | latent payload | "
              "float payload | estimate vs coded | tables written |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in res["models"]:
        for r in (r for r in m["rows"] if r["method"].startswith("EPR (")):
            kinds = sorted(set(r["tables"].values()))
            written = ", ".join(f"{k}: {sum(v == k for v in r['tables'].values())}" for k in kinds)
            lines.append(f"| {r['model']} | {r['setting']} | {r['bytes_prior_tables']:,} | {r['bytes_auto_tables']:,} | "
                         f"{r['header_bytes']} | {r['table_bytes']} | {r['latent_payload_bytes']:,} | "
                         f"{r['float_payload_bytes']} | {r['estimate_vs_coded_pct']:+.2f} % | "
                         f"{written} |")
    lines += ["", "## Targets", ""]
    for m in res["models"]:
        epr = [r for r in m["rows"] if r["method"].startswith("EPR (")]
        hits = [r for r in epr if r["bytes"] <= m["target_bytes"] and r["decoded_test_error_pct"] <= m["target_error_pct"]]
        best = min((r for r in epr if r["decoded_test_error_pct"] <= m["target_error_pct"]), key=lambda r: r["bytes"],
                   default=None)
        got = (f"smallest EPR stream at ≤ {m['target_error_pct']} %: {best['bytes']:,} B ({best['setting']})" if best
               else "no EPR run reached the error target")
        lines.append(f"- {m['model']}: ≤ {m['target_bytes']:,} B at ≤ {m['target_error_pct']} % error: "
                     f"{'reached' if hits else 'not reached'} ({got}; {len(epr)} EPR runs finished)")
    lines += ["", "## Settings", "", "```", json.dumps({m["model"]: m["settings"] for m in res["models"]}, indent=1),
              "```", ""]
    return "\n".join(lines)


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(res["models"]), figsize=(5.5 * len(res["models"]), 4), squeeze=False)
    for ax, m in zip(axes[0], res["models"]):
        for method, mark, label in (("EPR (", "o-", "EPR (this library)"), ("post", "s--", "post-training nwcodec.encode"),
                                    ("EPR paper", "k^", "EPR paper (reported)")):
            pts = sorted((r["bytes"] / 1e3, r.get("decoded_test_error_pct", r["test_error_pct"]), r["setting"])
                         for r in m["rows"] if r["method"].startswith(method))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], mark, label=label)
                for kb, err, s in pts:
                    ax.annotate(s.split()[-1], (kb, err), fontsize=7)
        ax.plot([m["target_bytes"] / 1e3], [m["target_error_pct"]], "r*", markersize=12, label="target")
        ax.set_xscale("log")
        ax.set_xlabel("bitstream size (kB)")
        ax.set_ylabel("test error (%)")
        ax.set_title(f"{m['model']} ({m['params']:,} params)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_results(res: dict, out: Path) -> str:
    out.mkdir(parents=True, exist_ok=True)
    (out / "epr.json").write_text(json.dumps(res, indent=1))
    md = to_markdown(res)
    (out / "epr.md").write_text(md)
    plot(res, out / "epr_rd.png")
    return md


def rebuild_epr_rows(m: dict, work: Path) -> dict:
    """EPR rows of every finished run of ``m`` re-derived from its summary and stream (no training)."""
    done = sorted(work.glob(f"epr_{m['model']}/lam_*/summary.json"))
    if not done:
        return m
    _, test = load_mnist_npz(models.SHARED / "mnist.npz")
    test_set = to_tensors(test)
    cfg = load_config(REPO / "configs" / f"{CONFIGS[m['model']]}.yaml")
    pre = next((r["train_seconds"] for r in m["rows"] if r["method"].startswith("float32")), 0.0)
    rows = [r for r in m["rows"] if not r["method"].startswith("EPR (")]
    lams = sorted(json.loads(p.read_text())["lam"] for p in done)
    m["settings"] = run_settings(cfg)   # the config the runs in ``work`` were trained with
    m["rows"] = rows + [epr_row(m["model"], cfg, lam, work / f"{m['model']}_warm.pt", work, test_set, pre) for lam in lams]
    return m


def carried_models(previous: Path, present: set[str]) -> list[dict]:
    """Models of the committed results that this invocation did not run, kept with the command and
    settings that produced them (``carried_from``), so one run of a single model keeps the others."""
    if not previous.is_file():
        return []
    old = json.loads(previous.read_text())
    out = []
    for m in old.get("models", []):
        if m["model"] in present or m["model"] not in CONFIGS:
            continue
        out.append({**m, "carried_from": m.get("carried_from", old.get("command", "an earlier run"))})
    return out


def collect(args: argparse.Namespace, work: Path, t0: float, res: dict, status: str) -> dict:
    """Results of every model whose ``work/<model>.json`` exists (finished or partial)."""
    res["models"] = [rebuild_epr_rows(json.loads((work / f"{n}.json").read_text()), work)
                     for n in args.models if (work / f"{n}.json").is_file()]
    res["models"] += carried_models(OUT / "epr.json", {m["model"] for m in res["models"]})
    res["load_end"] = os.getloadavg()[0]
    res["wall_seconds"] = time.time() - t0
    res["status"] = status
    return res


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run, written to a temporary folder")
    parser.add_argument("--models", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--work", default=str(REPO / "runs" / "epr_bench"), help="run folder (resumable)")
    parser.add_argument("--report-only", action="store_true", help="write the results of what has finished")
    parser.add_argument("--lams", nargs="+", type=float, default=None,
                        help="train only these lams of the configs (one process per lam can share one --work)")
    args = parser.parse_args(argv)
    if not (models.SHARED / "mnist.npz").is_file():
        raise SystemExit(f"MNIST not found at {models.SHARED / 'mnist.npz'}")
    t0 = time.time()
    work = Path(tempfile.mkdtemp(prefix="epr_quick_")) if args.quick else Path(args.work)
    out = work / "results" if args.quick else OUT
    res: dict[str, Any] = {"command": "python -m benchmarks.epr_bench" + (" --quick" if args.quick else "")
                           + ("" if args.models == list(CONFIGS) else " --models " + " ".join(args.models)),
                           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                                      f"{platform.python_version()}, torch {torch.__version__} (CPU)",
                           "threads": "1 per model, models in parallel processes", "load_start": os.getloadavg()[0]}
    if not args.report_only:
        with ProcessPoolExecutor(len(args.models), mp_context=multiprocessing.get_context("spawn")) as pool:
            jobs = [pool.submit(bench_model, name, args.quick, work, args.lams) for name in args.models]
            for job in jobs:
                job.result()
    missing = [f"{n} lam {lam:g}" for n in args.models if (work / f"{n}.json").is_file()
               for lam in load_config(REPO / "configs" / f"{CONFIGS[n]}.yaml")["lam"]
               if not (run_dir_of(work, n, lam) / "summary.json").is_file()]
    status = (f"Partial: {', '.join(missing)} still to finish (resume: `python -m benchmarks.epr_bench`; it skips "
              "finished runs)." if missing else "")
    md = write_results(collect(args, work, t0, res, status), out)
    print(md)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
