"""Scalable-stream benchmark (issue 15): one layered stream vs independent single-rate streams at equal bytes.

Parts (``--parts``, default all; each part's results are merged into ``benchmarks/results/scalable.json`` as it ends):

* ``cnn``: the shared pretrained MNIST CNN, post-training layered stream (quality 10, step halved per level, 5
  levels) vs ``nwcodec.encode`` single-rate streams bisected on quality to the same bytes as each level's prefix.
* ``lenet5``: LeNet-5-Caffe trained float (``--lenet5-epochs``), then the same comparison.
* ``qat``: rate-scalable QAT (``nwcodec.train.layered_qat``) fine-tuning the MNIST CNN for ``--qat-epochs`` over 4
  levels, vs single-rate streams of the fine-tuned and of the original weights at equal bytes.
* ``lcs``: LCS line and point subspaces (``--lcs-subspaces``) on LeNet-300-100 (sparsity 0/50/90/95 %, bit widths 3–8), vs networks trained
  individually at each operating point with the same number of steps.
* ``scene``: the committed layered demo scene, PSNR per level vs single-rate scene streams of the same bytes.
* ``viewer``: time to first image in headless Chromium on loopback at 1 MB/s (skipped without chromium).

Run: ``make bench-scalable`` (``python -m benchmarks.scalable_bench [--parts cnn,scene]``). CPU, torch 1 thread.
Writes ``scalable.json``, ``scalable.md`` and ``scalable.png``.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import nwcodec
from nwcodec.codec.levels import parse_layered
from nwcodec.codec.levels_encode import LevelSpec, encode_layered

REPO = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "results"
MNIST = REPO.parent / "shared" / "data" / "mnist.npz"
CNN = REPO.parent / "shared" / "data" / "models" / "mnist_cnn.pth"


def mnist():
    from nwcodec.train.classify import to_tensors
    from nwcodec.train.mnist import load_mnist_npz

    train, test = load_mnist_npz(MNIST)
    return to_tensors(train).tensors, to_tensors(test).tensors


def accuracy(model, arrays, test) -> float:
    from nwcodec.train.layered_common import accuracy_of

    return 100.0 * accuracy_of(copy.deepcopy(model), arrays, test, 2000)


def single_rate_at(state: dict, target: int, lo: float = 2.0, hi: float = 120.0) -> tuple[bytes, float]:
    """The ``nwcodec.encode`` stream whose size is the largest not above ``target`` (bisection on quality)."""
    best = nwcodec.encode(state, quality=lo)
    for _ in range(14):
        mid = 0.5 * (lo + hi)
        data = nwcodec.encode(state, quality=mid)
        if len(data) <= target:
            lo, best = mid, data
        else:
            hi = mid
    return best, lo


def compare_levels(name: str, model, state: dict, data: bytes, test, single_state: dict | None = None) -> dict:
    """Per level: prefix bytes, accuracy; single-rate stream at those bytes, its accuracy; the gap."""
    rows = []
    for lv in parse_layered(data).levels:
        acc = accuracy(model, nwcodec.decode(data, level=lv.index), test)
        single, q = single_rate_at(single_state or state, lv.end)
        acc_s = accuracy(model, nwcodec.decode(single), test)
        rows.append({"level": lv.index, "bytes": lv.end, "accuracy": acc, "single_bytes": len(single),
                     "single_quality": round(q, 2), "single_accuracy": acc_s, "gap": acc_s - acc})
        print(f"{name} level {lv.index}: {lv.end:,} B {acc:.2f} %  | single-rate {len(single):,} B {acc_s:.2f} %"
              f"  gap {acc_s - acc:+.2f}", flush=True)
    return {"levels": rows, "float_accuracy": accuracy(model, state, test), "within_0.2": all(r["gap"] <= 0.2 for r in rows)}


def part_cnn(args) -> dict:
    from nwcodec.train.models import MnistCNN

    _, test = mnist()
    model = MnistCNN()
    model.load_state_dict(torch.load(CNN, weights_only=True, map_location="cpu"))
    state = {k: v.numpy() for k, v in model.state_dict().items()}
    data = encode_layered(state, [LevelSpec()] * 5, quality=10, factor=2)
    return {"stream": "post-training, quality 10, factor 2, 5 levels", **compare_levels("cnn", model, state, data, test)}


def _train_float(model, train, epochs: int, lr: float = 1e-3, seed: int = 0):
    from nwcodec.train.layered_common import batches

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for x, y in batches(train, 128, epochs, None, seed):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def part_lenet5(args) -> dict:
    from nwcodec.train.models import LeNet5Caffe

    train, test = mnist()
    torch.manual_seed(0)
    model = _train_float(LeNet5Caffe(), train, args.lenet5_epochs)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    data = encode_layered(state, [LevelSpec()] * 5, quality=20, factor=2)
    return {"stream": f"float {args.lenet5_epochs} epochs, post-training layered quality 20, factor 2, 5 levels",
            **compare_levels("lenet5", model, state, data, test)}


def part_qat(args) -> dict:
    from nwcodec.train.layered_config import validate_layered
    from nwcodec.train.layered_qat import qat_encode_kw, qat_specs, train_qat
    from nwcodec.train.models import MnistCNN

    train, test = mnist()
    model = MnistCNN()
    model.load_state_dict(torch.load(CNN, weights_only=True, map_location="cpu"))
    orig = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    cfg = validate_layered({"epochs": args.qat_epochs, "lr": 2e-4, "batch_size": 128,
                            "qat": {"quality": 16, "factor": 2, "sparsity": [0.0] * 4, "lam": [0.02, 0.01, 0.005, 0.0]}})
    ladder, _ = train_qat(model, train, cfg)
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    data = encode_layered(state, qat_specs(cfg)(None), **qat_encode_kw(ladder))
    out = compare_levels("qat", model, state, data, test)
    out["vs_original_weights"] = compare_levels("qat-vs-orig", model, state, data, test, single_state=orig)["levels"]
    out["stream"] = f"rate-scalable QAT {args.qat_epochs} epoch(s) from the pretrained CNN, quality 16, factor 2, 4 levels"
    return out


def part_lcs(args) -> dict:
    from nwcodec.train.layered_common import chained_names
    from nwcodec.train.layered_config import validate_layered
    from nwcodec.train.layered_lcs import compress, level_alphas, train_lcs
    from nwcodec.train.models import LeNet300100

    train, test = mnist()
    steps = args.lcs_epochs * (len(train[1]) // 128)
    out: dict[str, Any] = {"model": "lenet300", "steps": steps}
    for mode, points in (("sparsity", [0.95, 0.9, 0.5, 0.0]), ("bits", [3, 4, 5, 6, 7, 8])):
        if mode not in args.lcs_modes.split(","):
            continue
        individual: list[float] | None = None   # the same for every subspace kind: trained once per mode
        for kind in args.lcs_subspaces.split(","):
            key = mode if kind == "line" else f"{mode}_{kind}"
            torch.manual_seed(0)
            base = LeNet300100()
            cfg = validate_layered({"method": "lcs", "epochs": args.lcs_epochs, "lr": 1e-3,
                                    "lcs": {"subspace": kind, "compress": mode, mode: points,
                                            "alpha_sampling": args.lcs_sampling}})
            out[f"{key}_sampling"] = args.lcs_sampling
            out[f"{key}_epochs"] = args.lcs_epochs
            sub = train_lcs(base, train, cfg)
            names = chained_names(base)
            if individual is None:
                individual = [_individual(cfg, names, a, train, test) for a in level_alphas(cfg)]
            rows = []
            for p, a, acc_ind in zip(points, level_alphas(cfg), individual):
                with torch.no_grad():
                    params = compress(sub.at(a), names, cfg, a)
                acc_sub = accuracy(base, {k: v.detach().numpy() for k, v in params.items()}, test)
                rows.append({mode: p, "subspace": acc_sub, "individual": acc_ind, "gap": acc_ind - acc_sub})
                print(f"lcs {kind} {mode} {p}: subspace {acc_sub:.2f} %  individual {acc_ind:.2f} %", flush=True)
            out[key] = rows
            out[f"{key}_within_0.5"] = all(r["gap"] <= 0.5 for r in rows)
    return out


def _individual(cfg: dict, names: list[str], a: float, train, test) -> float:
    """Accuracy of one network trained with the compression at ``a`` fixed for every step (a point at α)."""
    from nwcodec.train.layered_lcs import compress, train_lcs
    from nwcodec.train.models import LeNet300100

    torch.manual_seed(0)
    ind = LeNet300100()
    one = dict(cfg, lcs=dict(cfg["lcs"], subspace="point"))
    ind_sub = train_lcs(ind, train, one, alpha=a)
    with torch.no_grad():
        ip = compress(ind_sub.at(a), names, one, a)
    return accuracy(ind, {k: v.detach().numpy() for k, v in ip.items()}, test)


def part_scene(args) -> dict:
    import sys

    sys.path.insert(0, str(REPO))
    from bitstreams.make_layered_vectors import scene_psnr
    from nwcodec.scene.levels import decode_scene_level, encode_scene_layered, float_state
    from nwcodec.scene.stream import decode_scene, encode_scene

    model = decode_scene((REPO / "bitstreams" / "scenes" / "demo_scene.nwc").read_bytes())
    state = float_state(model)
    out: dict[str, Any] = {}
    for allocation in ("tensor", "size"):   # the committed vector's (scene default) and the weights default
        # as the committed vector bitstreams/layered/scene.nwc: 3 levels, quality 4, step halved per level
        data = encode_scene_layered(model, 3, quality=4, factor=2, allocation=allocation)
        rows = []
        for lv in parse_layered(data).levels:
            p = scene_psnr(decode_scene_level(data, lv.index))
            lo, hi, best = 1.0, 120.0, None
            for _ in range(12):
                mid = 0.5 * (lo + hi)
                s = encode_scene(model, quality=mid)
                if len(s) <= lv.end:
                    lo, best = mid, s
                else:
                    hi = mid
            ps = scene_psnr(decode_scene(best)) if best else float("nan")
            rows.append({"level": lv.index, "bytes": lv.end, "psnr": p, "single_bytes": len(best or b""),
                         "single_psnr": ps})
            print(f"scene {allocation} level {lv.index}: {lv.end:,} B {p:.2f} dB | single-rate "
                  f"{len(best or b''):,} B {ps:.2f} dB", flush=True)
        out["levels" if allocation == "tensor" else f"levels_{allocation}"] = rows
    del state
    return {**out, "source": "demo scene (bitstreams/scenes/demo_scene.nwc), layered: 3 levels, quality 4, factor 2; "
                             "levels: allocation tensor (scene default, = bitstreams/layered/scene.nwc), "
                             "levels_size: the size rule"}


def part_viewer(args) -> dict:
    import sys

    sys.path.insert(0, str(REPO))
    from tests.cdp import Browser, find_chromium
    from nwcodec.viewer.server import start_viewer

    exe = find_chromium()
    if exe is None:
        return {"skipped": "no chromium"}
    data = (REPO / "bitstreams" / "layered" / "scene.nwc").read_bytes()
    out = []
    for _ in range(3):
        server, _t = start_viewer(data, rate=1e6, chunk=4096, size=128)
        b = Browser(exe)
        try:
            b.open(server.url)
            first = b.wait("viewer.firstImageMs !== null && viewer.firstImageMs")
            level0_end = parse_layered(data).levels[0].end
            out.append({"first_image_ms": first, "level0_bytes": level0_end,
                        "transfer_ms_at_1MBps": 1000 * level0_end / 1e6})
        finally:
            b.close()
            server.shutdown()
            server.server_close()
    print(f"viewer: first image after {[round(o['first_image_ms']) for o in out]} ms", flush=True)
    return {"runs": out, "median_first_image_ms": float(np.median([o["first_image_ms"] for o in out])),
            "rate": "1 MB/s loopback, 4 KiB chunks, 128 px render"}


PARTS: dict[str, Callable] = {"cnn": part_cnn, "lenet5": part_lenet5, "qat": part_qat, "lcs": part_lcs,
                              "scene": part_scene, "viewer": part_viewer}


def write_report(res: dict) -> None:
    lines = ["# Scalable streams (issue 15)", "", "Commands: each part's own, listed under Notes (`make bench-scalable` runs them all); CPU, torch 1 thread.", ""]
    for key in ("cnn", "lenet5", "qat"):
        if key in res:
            r = res[key]
            lines += [f"## {key}: {r['stream']}", "", f"float accuracy {r['float_accuracy']:.2f} %; target: every level "
                      f"within 0.2 points of the single-rate stream at equal bytes — **{'met' if r['within_0.2'] else 'missed'}**", "",
                      "| level | bytes | accuracy % | single-rate bytes | single-rate accuracy % | gap |", "|---|---|---|---|---|---|"]
            lines += [f"| {x['level']} | {x['bytes']:,} | {x['accuracy']:.2f} | {x['single_bytes']:,} | "
                      f"{x['single_accuracy']:.2f} | {x['gap']:+.2f} |" for x in r["levels"]]
            lines.append("")
    if "lcs" in res:
        r = res["lcs"]
        lines += [f"## LCS subspaces, LeNet-300-100, {r['steps']} steps each", "",
                  "line: LCS+L, w(α) = (1-α)·w0 + α·w1; point: LCS+P, one network trained at every α. "
                  "Individual networks: one per operating point, the compression fixed at its α.", ""]
        for mode, kind in (("sparsity", "line"), ("sparsity", "point"), ("bits", "line"), ("bits", "point")):
            key = mode if kind == "line" else f"{mode}_{kind}"
            if key not in r:
                continue
            how = (f" ({r[f'{key}_epochs']} epochs each, α draws: {r[f'{key}_sampling']}; "
                   f"`{r[f'{mode}_command']}`)" if f"{mode}_command" in r else "")
            lines += [f"{mode}, {kind} subspace: target within 0.5 points of individually trained — "
                      f"**{'met' if r[f'{key}_within_0.5'] else 'missed'}**{how}", "",
                      f"| {mode} | subspace % | individual % | gap |", "|---|---|---|---|"]
            lines += [f"| {x[mode]} | {x['subspace']:.2f} | {x['individual']:.2f} | {x['gap']:+.2f} |" for x in r[key]]
            lines.append("")
    if "scene" in res:
        lines += ["## Scene: " + res["scene"]["source"], "", "| level | bytes | PSNR dB | single-rate bytes | single-rate PSNR dB |",
                  "|---|---|---|---|---|"]
        lines += [f"| {x['level']} | {x['bytes']:,} | {x['psnr']:.2f} | {x['single_bytes']:,} | {x['single_psnr']:.2f} |"
                  for x in res["scene"]["levels"]]
        if "levels_size" in res["scene"]:
            lines += ["", "The same with the size rule (`allocation=\"size\"`, the weights default):", "",
                      "| level | bytes | PSNR dB | single-rate bytes | single-rate PSNR dB |", "|---|---|---|---|---|"]
            lines += [f"| {x['level']} | {x['bytes']:,} | {x['psnr']:.2f} | {x['single_bytes']:,} | "
                      f"{x['single_psnr']:.2f} |" for x in res["scene"]["levels_size"]]
        lines.append("")
    if "viewer" in res:
        v = res["viewer"]
        lines += ["## Viewer", "", (f"time to first image: median {v['median_first_image_ms']:.0f} ms ({v['rate']})"
                                    if "runs" in v else f"skipped: {v['skipped']}"), ""]
    lines += ["## Notes", "",
              "* Single-rate baselines are `nwcodec.encode` streams bisected on quality to at most each level's bytes;"
              " accuracy is on the full MNIST test set, PSNR on the demo scene's 5 test views.",
              "* Training budgets are each part's command (this 2-core CPU): "
              + "; ".join(f"{k}: `{res[k]['command']}`" for k in PARTS if k in res and "command" in res[k])
              + ". LCS trains each subspace and each individual network for the same epochs.",
              "* Viewer time to first image is dominated by the server-side render on the loaded CPU (level 0 arrives"
              " in ~3 ms at 1 MB/s); the page shows a quarter-size preview first.", ""]
    (OUT / "scalable.md").write_text("\n".join(lines))


def plot(res: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in ("cnn", "lenet5", "qat", "lcs", "scene") if k in res]
    fig, axes = plt.subplots(1, max(1, len(keys)), figsize=(4.5 * max(1, len(keys)), 3.6))
    axes = np.atleast_1d(axes)
    for ax, k in zip(axes, keys):
        r = res[k]
        if k == "lcs":
            for mode, mk in (("sparsity", "o"), ("bits", "s")):
                for key, kind, ls in ((mode, "line", "-"), (f"{mode}_point", "point", ":")):
                    if key in r:
                        ax.plot(range(len(r[key])), [x["subspace"] for x in r[key]], mk + ls,
                                label=f"{kind} subspace ({mode})")
                if mode in r:
                    ax.plot(range(len(r[mode])), [x["individual"] for x in r[mode]], mk + "--",
                            label=f"individual ({mode})")
            ax.set_xlabel("operating point (sparsity 95→0 % / bits 3→8)")
            ax.set_ylabel("accuracy %")
        else:
            y, ys = ("psnr", "single_psnr") if k == "scene" else ("accuracy", "single_accuracy")
            ax.plot([x["bytes"] / 1e3 for x in r["levels"]], [x[y] for x in r["levels"]], "o-", label="layered levels")
            ax.plot([x["single_bytes"] / 1e3 for x in r["levels"]], [x[ys] for x in r["levels"]], "s--", label="single-rate")
            ax.set_xlabel("KB")
            ax.set_ylabel("PSNR dB" if k == "scene" else "accuracy %")
        ax.set_title(k)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(OUT / "scalable.png", dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default=",".join(PARTS))
    ap.add_argument("--lenet5-epochs", type=int, default=8)
    ap.add_argument("--qat-epochs", type=int, default=1)
    ap.add_argument("--lcs-epochs", type=int, default=30)
    ap.add_argument("--lcs-modes", default="sparsity,bits", help="LCS parts to (re)run; the others are kept")
    ap.add_argument("--lcs-subspaces", default="line,point",
                    help="LCS subspace kinds to train per mode (line: LCS+L, point: LCS+P)")
    ap.add_argument("--lcs-sampling", default="endpoints", choices=("endpoints", "levels"),
                    help="LCS α draws: an endpoint or one of the levels' α with probability 0.5")
    args = ap.parse_args()
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "scalable.json"
    res = json.loads(path.read_text()) if path.exists() else {}
    for part in args.parts.split(","):
        t0 = time.perf_counter()
        new = PARTS[part](args)
        new["seconds"] = round(time.perf_counter() - t0, 1)
        new["command"] = (f"python -m benchmarks.scalable_bench --parts {part}"
                          + "".join(f" --{k.replace('_', '-')} {v}" for k, v in vars(args).items()
                                    if k == f"{part}_epochs" or (part == "lcs" and k.startswith("lcs_"))))
        if part == "lcs":   # a rerun of some LCS modes keeps the others' rows and commands
            for mode in args.lcs_modes.split(","):
                new[f"{mode}_command"] = new["command"]
            new = {**res.get(part, {}), **new}
        res[part] = new
        path.write_text(json.dumps(res, indent=1))
        write_report(res)
        plot(res)


if __name__ == "__main__":
    main()
