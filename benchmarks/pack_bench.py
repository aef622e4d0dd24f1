"""Scene packs vs independent single-scene codecs: total bytes at equal mean test PSNR (``make bench-pack``).

Three procedural 64x64 scenes (seeds 11-13) share one field architecture. For each rate point the
pack (base + three deltas) is trained jointly, and each scene is also trained alone as a single-scene
EPR field (``nwcodec.scene.pipeline.fit_scene``, same architecture, iterations and lr scales) and
coded alone. A fourth scene (seed 14) is then fitted against each pack's frozen base. The pack's
``lam`` is N times the singles' (its loss sums N scenes' MSE but divides the bits by N * params).

Training can run elsewhere (``--train-only --device cuda --out DIR``, no entropy coder needed);
``--states DIR`` then encodes, decodes and scores here. Without ``--states`` everything runs here.
Writes ``benchmarks/results/pack.json``, ``pack.md`` and ``pack_rd.png``.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from nwcodec.nerf.config import FieldConfig, ModelConfig, RenderConfig, TrainConfig
from nwcodec.reparam.config import ReparamConfig
from nwcodec.scene.config import LrScales, RateConfig

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
DATA = REPO / "runs" / "pack_bench" / "data"
SEEDS = (11, 12, 13)
ADDED_SEED = 14
SINGLE_LAMS = (3e-4, 1e-3, 3e-3, 1e-2)
MODEL = ModelConfig(coarse=FieldConfig(depth=4, width=96, skips=(2,), pos_freqs=8, dir_freqs=2), fine=None,
                    render=RenderConfig(n_coarse=48, n_fine=0))
TRAIN = TrainConfig(iters=1500, batch_rays=1024, lr=2e-3, lr_final=2e-4, val_every=0, ckpt_every=0, chunk=8192)
LR = LrScales(latent=100.0, decoder=1.0, prior=10.0)
REPARAM = ReparamConfig(prior="deep", min_numel=64, per_channel=False, init_step=0.05, prior_groups="tensor")


def splits(seed: int):
    """Train and test splits of a procedural scene (generated once under runs/)."""
    from nwcodec.nerf.dataparsers import load_blender
    from nwcodec.nerf.procedural import generate_scene

    d = DATA / f"seed_{seed}"
    if not (d / "transforms_test.json").is_file():
        generate_scene(d, seed=seed, resolution=64, n_train=30, n_val=1, n_test=5)
    return load_blender(d, "train"), load_blender(d, "test")


def _train_pack_job(lam: float, device: str) -> dict:
    from nwcodec.nerf.train import make_model
    from nwcodec.scene.pack_model import ScenePack, fit_shared_priors
    from nwcodec.scene.pack_train import add_frozen_scene, train_pack

    torch.set_num_threads(1)
    train = {k: splits(s)[0] for k, s in enumerate(SEEDS)}
    init = make_model(MODEL, train[0], seed=0)
    pack = ScenePack.create(init.config, init, len(SEEDS), REPARAM.init_step, REPARAM.min_numel)
    fit_shared_priors(pack, REPARAM.prior_fit_steps)
    t0 = time.perf_counter()
    train_pack(pack, train, TRAIN, lam * len(SEEDS), LR, device)
    seconds = time.perf_counter() - t0
    state = {k: v.cpu() for k, v in pack.state_dict().items()}
    k, _ = add_frozen_scene(pack, splits(ADDED_SEED)[0], TRAIN, lam, LR, device)
    added = {n: v.cpu() for n, v in pack.scenes[k].state_dict().items()}
    return {"lam": lam, "pack": state, "added": added, "seconds": seconds}


def _train_single_job(lam: float, seed: int, device: str) -> dict:
    from nwcodec.scene.pipeline import fit_scene

    torch.set_num_threads(1)
    rate = RateConfig(lam=(lam,), reparam=REPARAM, lr_scales=LR)
    t0 = time.perf_counter()
    model, _ = fit_scene(MODEL, TRAIN, rate, lam, splits(seed)[0], None, None, device)
    return {"lam": lam, "seed": seed, "state": {k: v.cpu() for k, v in model.state_dict().items()},
            "seconds": time.perf_counter() - t0}


def _run_job(job: tuple) -> dict:
    kind, args = job
    return _train_pack_job(*args) if kind == "pack" else _train_single_job(*args)


def train_all(device: str, workers: int) -> list[dict]:
    """Every training job (packs with their added scene, singles); parallel processes when ``workers > 1``."""
    for s in (*SEEDS, ADDED_SEED):
        splits(s)
    jobs = [("pack", (lam, device)) for lam in SINGLE_LAMS]
    jobs += [("single", (lam, s, device)) for lam in SINGLE_LAMS for s in SEEDS]
    if workers <= 1:
        return [_run_job(j) for j in jobs]
    with mp.get_context("spawn").Pool(workers) as pool:
        return pool.map(_run_job, jobs, chunksize=1)


def _single_stream(model, camera: dict) -> tuple[bytes, int]:
    """Single-scene stream (the cheaper of the two table modes, as for packs) and encode_scene's size."""
    from nwcodec.codec import encode_latent_model
    from nwcodec.reparam.export import export_latents
    from nwcodec.scene.stream import encode_scene

    latents, priors, plain = export_latents(model)
    extra = {"scene": {"model": model.to_config(), "camera": camera}}
    best = min((encode_latent_model(latents, priors, plain, kind="scene", extra=extra, table_mode=m)
                for m in ("prior", "auto")), key=len)
    return best, len(encode_scene(model, camera=camera))


def evaluate(results: list[dict]) -> dict:
    """Encode every trained result, decode it as a receiver would, and score the test views."""
    from nwcodec.nerf.evaluate import evaluate_dataset
    from nwcodec.nerf.train import make_model
    from nwcodec.reparam import reparameterize
    from nwcodec.scene.pack import decode_pack_scene, encode_pack_base, encode_pack_scene
    from nwcodec.scene.pack_model import ScenePack
    from nwcodec.scene.pipeline import scene_camera
    from nwcodec.scene.stream import decode_scene

    data = {s: splits(s) for s in (*SEEDS, ADDED_SEED)}
    psnr = lambda model, seed: float(evaluate_dataset(model, data[seed][1])[0]["mean_psnr"])  # noqa: E731
    packs, singles = [], []
    for r in (r for r in results if "pack" in r):
        init = make_model(MODEL, data[SEEDS[0]][0], seed=0)
        pack = ScenePack.create(init.config, init, len(SEEDS), REPARAM.init_step, REPARAM.min_numel)
        pack.load_state_dict(r["pack"])
        base = encode_pack_base(pack, scene_camera(data[SEEDS[0]][1]))
        deltas = [encode_pack_scene(pack, k, base, scene_camera(data[s][1])) for k, s in enumerate(SEEDS)]
        scene_psnr = [psnr(decode_pack_scene(base, d), s) for d, s in zip(deltas, SEEDS)]
        pack.freeze()
        k = pack.add_scene([torch.from_numpy(a.copy()) for a in pack.base_floats()])
        pack.scenes[k].load_state_dict(r["added"])
        added = encode_pack_scene(pack, k, base, scene_camera(data[ADDED_SEED][1]))
        packs.append({"lam": r["lam"], "pack_lam": r["lam"] * len(SEEDS), "base_bytes": len(base),
                      "delta_bytes": [len(d) for d in deltas], "total_bytes": len(base) + sum(map(len, deltas)),
                      "psnr": scene_psnr, "mean_psnr": float(np.mean(scene_psnr)), "train_seconds": r["seconds"],
                      "added_bytes": len(added), "added_psnr": psnr(decode_pack_scene(base, added), ADDED_SEED)})
    for lam in SINGLE_LAMS:
        row = {"lam": lam, "bytes": [], "encode_scene_bytes": [], "psnr": []}
        for s in SEEDS:
            r = next(x for x in results if x.get("seed") == s and x["lam"] == lam)
            model = reparameterize(make_model(MODEL, data[s][0], seed=0), replace(REPARAM, prior_fit_steps=0))
            model.load_state_dict(r["state"])
            stream, plain_size = _single_stream(model.eval(), scene_camera(data[s][1]))
            row["bytes"].append(len(stream))
            row["encode_scene_bytes"].append(plain_size)
            row["psnr"].append(psnr(decode_scene(stream), s))
        row.update(total_bytes=sum(row["bytes"]), mean_psnr=float(np.mean(row["psnr"])))
        singles.append(row)
    return {"packs": packs, "singles": singles}


def ratios(summary: dict) -> list[dict]:
    """Each pack's total against the singles' total interpolated (log bytes, linear PSNR) at its mean PSNR."""
    pts = sorted((s["mean_psnr"], np.log(s["total_bytes"])) for s in summary["singles"])
    xs, ys = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    out = []
    for p in summary["packs"]:
        inside = xs[0] <= p["mean_psnr"] <= xs[-1]
        alone = float(np.exp(np.interp(p["mean_psnr"], xs, ys))) if inside else None
        out.append({"pack_lam": p["pack_lam"], "mean_psnr": p["mean_psnr"], "pack_bytes": p["total_bytes"],
                    "independent_bytes": alone, "ratio": p["total_bytes"] / alone if alone else None})
    return out


def write_results(summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary["at_equal_psnr"] = ratios(summary)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pack.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    lines = ["# Scene packs vs independent single-scene streams", "",
             f"Scenes: procedural seeds {list(SEEDS)} at 64x64 (30 train / 5 test views); field "
             f"{MODEL.coarse.depth}x{MODEL.coarse.width} (no fine field), {TRAIN.iters} iterations of "
             f"{TRAIN.batch_rays} rays per scene. Command: `{summary['command']}`.", "",
             "| pack lam | base B | deltas B | pack total B | mean test PSNR | independent B at same PSNR | ratio |"
             " added scene B (PSNR) |", "|---|---|---|---|---|---|---|---|"]
    for p, r in zip(summary["packs"], summary["at_equal_psnr"]):
        alone = f"{r['independent_bytes']:,.0f}" if r["independent_bytes"] else "outside singles' range"
        ratio = f"{r['ratio']:.3f}" if r["ratio"] else "-"
        lines.append(f"| {p['pack_lam']:g} | {p['base_bytes']:,} | {sum(p['delta_bytes']):,} | {p['total_bytes']:,} | "
                     f"{p['mean_psnr']:.2f} | {alone} | {ratio} | {p['added_bytes']:,} ({p['added_psnr']:.2f} dB) |")
    lines += ["", "| single lam | bytes per scene | total B | mean test PSNR | encode_scene total B |",
              "|---|---|---|---|---|"]
    for s in summary["singles"]:
        lines.append(f"| {s['lam']:g} | {', '.join(f'{b:,}' for b in s['bytes'])} | {s['total_bytes']:,} | "
                     f"{s['mean_psnr']:.2f} | {sum(s['encode_scene_bytes']):,} |")
    (RESULTS / "pack.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([s["total_bytes"] / 1024 for s in summary["singles"]], [s["mean_psnr"] for s in summary["singles"]],
            "o-", label=f"{len(SEEDS)} independent scene streams")
    ax.plot([p["total_bytes"] / 1024 for p in summary["packs"]], [p["mean_psnr"] for p in summary["packs"]],
            "s-", label="pack: base + deltas")
    ax.set_xlabel("total KiB")
    ax.set_ylabel("mean test PSNR (dB)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "pack_rd.png", dpi=120)


def _set_size(iters: int, lams: tuple[float, ...]) -> None:
    global TRAIN, SINGLE_LAMS
    TRAIN, SINGLE_LAMS = replace(TRAIN, iters=iters), lams


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-only", action="store_true", help="train and save states to --out, nothing else")
    ap.add_argument("--out", type=Path, default=REPO / "runs" / "pack_bench" / "states")
    ap.add_argument("--states", type=Path, default=None, help="evaluate states saved by --train-only")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--iters", type=int, default=TRAIN.iters, help="fewer steps for a quick CPU run")
    ap.add_argument("--lams", type=float, nargs="+", default=list(SINGLE_LAMS), help="single-scene lams")
    a = ap.parse_args()
    _set_size(a.iters, tuple(a.lams))
    torch.set_num_threads(1)
    if a.states is None:
        results = train_all(a.device, a.workers)
        if a.train_only:
            a.out.mkdir(parents=True, exist_ok=True)
            for i, lam in enumerate(SINGLE_LAMS):
                torch.save([r for r in results if r["lam"] == lam], a.out / f"lam_{i}.pt")
            return
        command = "python -m benchmarks.pack_bench"
    else:
        results = [r for f in sorted(a.states.glob("lam_*.pt")) for r in torch.load(f, weights_only=True)]
        command = "python -m benchmarks.pack_bench --train-only --device cuda --workers 16 (H100), then --states"
    summary = evaluate(results)
    summary["command"] = command
    write_results(summary)
    print((RESULTS / "pack.md").read_text())


if __name__ == "__main__":
    main()
