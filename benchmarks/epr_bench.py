"""EPR benchmark: MNIST LeNet-300-100 and LeNet-5-Caffe trained under a rate penalty vs the same
float models compressed after training by the core codec, on the full MNIST test set (CPU).

Run: ``make bench-epr`` (or ``python -m benchmarks.epr_bench``; ``--quick`` for a smoke run that
writes to a temporary folder). Writes ``benchmarks/results/epr.json``, ``epr.md``, ``epr_rd.png``.
Each architecture is trained once without penalty (``pretrain_epochs`` of its config); that float
model is both the post-training baseline and the warm start of every EPR run (the tuned settings
of ``configs/mnist_<model>.yaml``, one run per lam). Bytes are whole bitstreams (header, tables,
payloads): ``encode_latent_model`` for EPR (the smaller of ``table_mode`` prior/auto), and
``nwcodec.encode(quality=q)`` for post-training. Every EPR stream is decoded and the decoded
model's test logits are checked bit-identical to the trained model's in eval mode.
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
from nwcodec.codec import encode_latent_model
from nwcodec.reparam import export_latents, reparameterize
from nwcodec.train.classify import pretrain, test_error, to_tensors, train_classifier
from nwcodec.train.config import load_config
from nwcodec.train.distributed import DistInfo
from nwcodec.train.mnist import load_mnist_npz
from nwcodec.train.models import build_model

from . import models

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results"
CPU = torch.device("cpu")
TARGETS = {"lenet300": (6000, 1.9), "lenet5": (2000, 1.0)}  # (bytes, test error %)
QUALITIES = [14, 16, 18, 20, 24, 30]
QUICK = {"pretrain_epochs": 1, "max_steps": 60, "lams": [2.0], "qualities": [20, 30]}


def _logits(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad(), torch.nn.utils.parametrize.cached():
        return torch.cat([model(x[i:i + 2000]) for i in range(0, len(x), 2000)])


def post_training_rows(name: str, state: dict, qualities: list[int], test_set, seconds: float) -> list[dict]:
    """The float model coded by ``nwcodec.encode(quality=q)``: bytes and decoded test error."""
    n = sum(v.numel() for v in state.values())
    rows = []
    for q in qualities:
        data = nwcodec.encode({k: v.numpy() for k, v in state.items()}, quality=q)
        net = build_model(name)
        nwcodec.load_into_module(net, nwcodec.decode(data))
        err = test_error(net, test_set, 2000, CPU)
        rows.append({"model": name, "method": "post-training (nwcodec.encode)", "setting": f"quality {q}",
                     "test_error_pct": 100 * err, "bytes": len(data), "estimated_bytes": None,
                     "bits_per_param": 8 * len(data) / n, "train_seconds": round(seconds, 1)})
    return rows


def decoded_matches(cfg: dict, run_dir: Path, test_set, table_mode: str) -> bool:
    """Rebuild the trained EPR model, code it, decode the bytes into a plain model, compare logits."""
    model = build_model(cfg["model"])
    reparameterize(model, {**cfg["reparam"], "prior_fit_steps": 0})
    model.load_state_dict(torch.load(run_dir / "model_final.pt", weights_only=True, map_location="cpu"))
    data = encode_latent_model(*export_latents(model), table_mode=table_mode)
    plain = build_model(cfg["model"])
    nwcodec.load_into_module(plain, nwcodec.decode(data))
    x = test_set.tensors[0]
    return bool(torch.equal(_logits(model, x), _logits(plain, x)))


def epr_rows(cfg: dict, lams: list[float], warm: Path, work: Path, test_set, pre_seconds: float) -> list[dict]:
    """One EPR fine-tune per lam from the warm start, with its coded size and determinism check."""
    run_cfg = {**cfg, "lam": lams, "warm_start": str(warm), "pretrain_epochs": 0, "resume": False,
               "progress": False, "encode": True, "out_dir": str(work / f"epr_{cfg['model']}")}
    result = train_classifier(run_cfg)
    rows = []
    for run in result["runs"]:
        run_dir = Path(result["out_dir"]) / (f"lam_{run['lam']:g}" if len(lams) > 1 else "")
        rows.append({"model": cfg["model"], "method": "EPR (rate-penalized training)",
                     "setting": f"lam {run['lam']:g}", "test_error_pct": 100 * run["test_error"],
                     "bytes": run["coded_bytes"], "estimated_bytes": round(run["estimated_bytes"]),
                     "bits_per_param": 8 * run["coded_bytes"] / run["num_params"],
                     "train_seconds": round(pre_seconds + run["train_seconds"], 1),
                     "epr_seconds": run["train_seconds"], "epochs": cfg["epochs"], "steps": run["steps"],
                     "bytes_prior_tables": run["coded_bytes_prior_tables"],
                     "bytes_auto_tables": run["coded_bytes_auto_tables"],
                     "header_bytes": run["header_bytes"], "table_bytes": run["table_bytes"],
                     "latent_payload_bytes": run["latent_payload_bytes"],
                     "float_payload_bytes": run["float_payload_bytes"],
                     "nonzero_latents": run["nonzero_latents"],
                     "decoded_bit_identical": decoded_matches(run_cfg, run_dir, test_set, run["table_mode"])})
    return rows


def bench_model(name: str, quick: bool, work: Path) -> dict:
    """Float training, post-training coding and one EPR run per lam of ``configs/mnist_<name>.yaml``."""
    torch.set_num_threads(1)  # 2 threads on a shared 2-core machine oversubscribe (tens of times slower)
    train, test = load_mnist_npz(models.SHARED / "mnist.npz")
    train_set, test_set = to_tensors(train), to_tensors(test)
    cfg = load_config(REPO / "configs" / f"mnist_{name}.yaml")
    cfg["data"]["path"] = str(models.SHARED / "mnist.npz")
    cfg["progress"] = False
    plan = {"lams": cfg["lam"], "qualities": QUALITIES}
    if quick:
        cfg.update(pretrain_epochs=QUICK["pretrain_epochs"], max_steps=QUICK["max_steps"], epochs=1)
        plan.update(lams=QUICK["lams"], qualities=QUICK["qualities"])
    torch.manual_seed(cfg["seed"])
    net = build_model(name)
    pre_seconds = pretrain(net, train_set, cfg, DistInfo(), CPU)
    float_err = test_error(net, test_set, 2000, CPU)
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    warm = work / f"{name}_float.pt"
    torch.save(state, warm)
    n = sum(v.numel() for v in state.values())
    rows = [{"model": name, "method": "float32 (no compression)", "setting": f"{cfg['pretrain_epochs']} epochs",
             "test_error_pct": 100 * float_err, "bytes": 4 * n, "estimated_bytes": None, "bits_per_param": 32.0,
             "train_seconds": round(pre_seconds, 1)}]
    rows += post_training_rows(name, state, plan["qualities"], test_set, pre_seconds)
    rows += epr_rows(cfg, plan["lams"], warm, work, test_set, pre_seconds)
    settings = {k: cfg[k] for k in ("pretrain_epochs", "epochs", "max_steps", "lr", "lr_decay", "reparam",
                                    "batch_size")}
    return {"model": name, "params": n, "target_bytes": TARGETS[name][0],
            "target_error_pct": TARGETS[name][1], "settings": settings, "rows": rows}


def matched(res: dict) -> list[str]:
    """For each EPR point: the smallest post-training stream with no higher test error."""
    lines = []
    for m in res["models"]:
        ptq = [r for r in m["rows"] if r["method"].startswith("post")]
        for r in (r for r in m["rows"] if r["method"].startswith("EPR")):
            ok = [p for p in ptq if p["test_error_pct"] <= r["test_error_pct"]]
            best = min(ok, key=lambda p: p["bytes"]) if ok else None
            other = (f"{best['bytes']:,} B ({best['setting']}, {best['test_error_pct']:.2f} %)" if best
                     else "no tested quality reaches it")
            lines.append(f"- {m['model']} EPR {r['setting']}: {r['bytes']:,} B at {r['test_error_pct']:.2f} % "
                         f"vs post-training {other}")
    return lines


def to_markdown(res: dict) -> str:
    lines = ["# EPR benchmark (MNIST, full 10,000-image test set)", "",
             f"Command: `{res['command']}`. Machine: {res['machine']}; torch threads: {res['threads']}; "
             f"load average at start {res['load_start']}, at end {res['load_end']} (shared machine). "
             f"Total wall time {res['wall_seconds']:.0f} s.", "",
             "Bytes are whole bitstreams. Estimated bytes: the latents' rate under the learned priors "
             "(training's estimate, integer latents). Train seconds: float pre-training plus the EPR "
             "fine-tune (post-training rows: the float training only).", "",
             "| model | method | lam/quality | test error % | bytes | estimated bytes | bits/param | train s |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for m in res["models"]:
        for r in m["rows"]:
            est = "" if r["estimated_bytes"] is None else f"{r['estimated_bytes']:,}"
            lines.append(f"| {r['model']} | {r['method']} | {r['setting']} | {r['test_error_pct']:.2f} | "
                         f"{r['bytes']:,} | {est} | {r['bits_per_param']:.4f} | {r['train_seconds']:.0f} |")
    lines += ["", "## EPR stream breakdown", "",
              "| model | lam | bytes (prior tables) | bytes (auto tables) | header | tables | latent payload | "
              "float payload | nonzero latents | decoded bit-identical |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for m in res["models"]:
        for r in (r for r in m["rows"] if r["method"].startswith("EPR")):
            lines.append(f"| {r['model']} | {r['setting']} | {r['bytes_prior_tables']:,} | {r['bytes_auto_tables']:,} | "
                         f"{r['header_bytes']} | {r['table_bytes']} | {r['latent_payload_bytes']:,} | "
                         f"{r['float_payload_bytes']} | {r['nonzero_latents']:,} | {r['decoded_bit_identical']} |")
    lines += ["", "## Matched test error", ""] + matched(res) + ["", "## Targets", ""]
    for m in res["models"]:
        hits = [r for r in m["rows"] if r["method"].startswith("EPR") and r["bytes"] <= m["target_bytes"]
                and r["test_error_pct"] <= m["target_error_pct"]]
        lines.append(f"- {m['model']}: ≤ {m['target_bytes']:,} B at ≤ {m['target_error_pct']} %: "
                     f"{'reached' if hits else 'not reached'}")
    lines += ["", "## Settings", "", "```", json.dumps({m["model"]: m["settings"] for m in res["models"]}, indent=1),
              "```", ""]
    return "\n".join(lines)


def plot(res: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(res["models"]), figsize=(5.5 * len(res["models"]), 4), squeeze=False)
    for ax, m in zip(axes[0], res["models"]):
        for method, mark in (("EPR", "o-"), ("post", "s--")):
            pts = sorted((r["bytes"] / 1e3, r["test_error_pct"], r["setting"]) for r in m["rows"]
                         if r["method"].startswith(method))
            ax.plot([p[0] for p in pts], [p[1] for p in pts], mark,
                    label="EPR" if method == "EPR" else "post-training nwcodec.encode")
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run, written to a temporary folder")
    parser.add_argument("--models", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    args = parser.parse_args(argv)
    if not (models.SHARED / "mnist.npz").is_file():
        raise SystemExit(f"MNIST not found at {models.SHARED / 'mnist.npz'}")
    t0 = time.time()
    res: dict[str, Any] = {"command": "python -m benchmarks.epr_bench" + (" --quick" if args.quick else ""),
                           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                                      f"{platform.python_version()}, torch {torch.__version__} (CPU)",
                           "threads": "1 per model, models in parallel processes",
                           "load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(
            len(args.models), mp_context=multiprocessing.get_context("spawn")) as pool:
        jobs = [pool.submit(bench_model, name, args.quick, Path(tmp)) for name in args.models]
        res["models"] = [job.result() for job in jobs]
    res["load_end"] = os.getloadavg()[0]
    res["wall_seconds"] = time.time() - t0
    out = Path(tempfile.mkdtemp(prefix="epr_quick_")) if args.quick else OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "epr.json").write_text(json.dumps(res, indent=1))
    md = to_markdown(res)
    (out / "epr.md").write_text(md)
    plot(res, out / "epr_rd.png")
    print(md)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
