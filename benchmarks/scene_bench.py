"""Scene codec benchmark: test PSNR vs bytes on ``shared/data/scenes/primitives`` (``make bench-scene``).

Methods, all the same field (``configs/scene_bench.yaml``) and the same number of steps:
* EPR (ours): float warm-up, then rate-penalized training for several ``lam``; exact latent coding.
* float32: the field trained without a rate penalty (4 bytes per parameter).
* post-training codec: that float field coded by ``encode_scene(model, quality=q)``.
* JPEG pipeline: the training views sent as JPEG (several qualities), the receiver trains a float
  field on the decoded views; its bytes are the JPEG files.

Two phases. ``--train-only`` trains every method and saves the weights to ``--ckpt`` (can run on a
GPU: ``--device cuda``; no entropy coder needed). The default run trains what ``--ckpt`` lacks (on
``--device``), then encodes, decodes as a receiver, renders and scores on this machine, and writes
``benchmarks/results/scene.{json,md}``, ``scene_rd.png`` and ``scene_views/``.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import platform
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
import yaml
from PIL import Image

from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.evaluate import evaluate_dataset
from nwcodec.nerf.train import make_model, train_scene
from nwcodec.nerf.video import to_uint8
from nwcodec.reparam import reparameterize
from nwcodec.scene.config import ScenePipelineConfig, parse_scene_config
from nwcodec.scene.pipeline import fit_scene, load_splits

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "scene_bench.yaml"
RESULTS = REPO / "benchmarks" / "results"
JPEG_QUALITIES = (30,)
POST_QUALITIES = (30, 45, 60)
VIEW = 0  # test view saved as PNG per method
TEST_VIEWS = 5  # the first test views scored (rendering all 20 for every method is slow on a busy 2-core CPU)


def jobs(conf: ScenePipelineConfig) -> list[tuple[str, float]]:
    """``(method, value)`` for every field to train: EPR lams, the float field, JPEG qualities."""
    return [("epr", lam) for lam in conf.rate.lam if lam > 0] + [("float", 0.0)] + [("jpeg", q) for q in JPEG_QUALITIES]


def job_key(method: str, value: float) -> str:
    return f"{method}_{value:g}"


def jpeg_views(ds: SceneDataset, quality: int) -> tuple[SceneDataset, int]:
    """The training views after a JPEG round trip at ``quality`` (8-bit RGB on the background), and their bytes."""
    images, total = [], 0
    for img in to_uint8(ds.images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=int(quality))
        total += buf.tell()
        images.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.float32) / 255.0)
    return dataclasses.replace(ds, images=np.stack(images)), total


def train_job(conf: ScenePipelineConfig, method: str, value: float, splits: dict, device: str) -> dict:
    """Train one method's field; returns its state dict, seconds and the device used."""
    total_iters = conf.train.iters + conf.rate.pretrain_iters
    float_cfg = dataclasses.replace(conf.train, iters=total_iters)
    t0 = time.perf_counter()
    if method == "epr":
        model, _ = fit_scene(conf.model, conf.train, conf.rate, value, splits["train"], splits["val"], None, device)
    else:
        train = splits["train"] if method == "float" else jpeg_views(splits["train"], int(value))[0]
        model = make_model(conf.model, train, seed=conf.train.seed)
        train_scene(model, train, float_cfg, val_dataset=splits["val"], device=device, progress=False)
    seconds = time.perf_counter() - t0
    name = torch.cuda.get_device_name() if str(device).startswith("cuda") else f"CPU ({platform.machine()}, 1 thread)"
    print(f"trained {job_key(method, value)} in {seconds:.1f} s on {name}", flush=True)
    return {"state": {k: v.cpu() for k, v in model.state_dict().items()}, "seconds": seconds, "device": name,
            "iters": total_iters}


def rebuild(conf: ScenePipelineConfig, method: str, state: dict, train: SceneDataset):
    """The trained model from its saved state (EPR: reparameterized, priors as trained)."""
    model = make_model(conf.model, train, seed=conf.train.seed)
    if method == "epr":
        reparameterize(model, dataclasses.replace(conf.rate.reparam, prior_fit_steps=0))
    model.load_state_dict(state)
    return model.eval()


def score(model, test: SceneDataset, views_dir: Path, name: str) -> dict:
    scores, rendered = evaluate_dataset(model, test, chunk=8192)
    iio.imwrite(views_dir / f"{name}.png", to_uint8(rendered.images[VIEW]))
    return {"test_psnr": scores["mean_psnr"], "test_ssim": scores["mean_ssim"], "rays_per_second": scores["rays_per_second"]}


def evaluate(conf: ScenePipelineConfig, ckpts: dict, splits: dict) -> list[dict]:
    """Encode, decode as a receiver and score every method; one row per point of the RD plot."""
    from nwcodec.scene.pipeline import encode_fitted, scene_camera
    from nwcodec.scene.stream import decode_scene, encode_scene

    views = RESULTS / "scene_views"
    views.mkdir(parents=True, exist_ok=True)
    iio.imwrite(views / "ground_truth.png", to_uint8(splits["test"].images[VIEW]))
    camera = scene_camera(splits["test"])
    rows = []
    for method, value in jobs(conf):
        ck = ckpts[job_key(method, value)]
        model = rebuild(conf, method, ck["state"], splits["train"])
        common = {"train_seconds": ck["seconds"], "train_device": ck["device"], "train_iters": ck["iters"]}
        if method == "epr":
            stream = encode_fitted(model, value, conf.rate, camera)
            receiver = decode_scene(stream)
            row = {"method": "epr", "lam": value, "bytes": len(stream), "header_bytes": header_bytes(stream), **common}
            row.update(score(receiver, splits["test"], views, f"epr_lam{value:g}"))
        elif method == "float":
            n = sum(p.numel() for p in model.parameters())
            row = {"method": "float32", "bytes": 4 * n, **common}
            row.update(score(model, splits["test"], views, "float32"))
            rows.append(row)
            for q in POST_QUALITIES:
                stream = encode_scene(model, camera=camera, quality=q)
                r = {"method": "post-training", "quality": q, "bytes": len(stream), "header_bytes": header_bytes(stream),
                     **common}
                r.update(score(decode_scene(stream), splits["test"], views, f"post_q{q}"))
                rows.append(r)
            continue
        else:
            _, jpeg_bytes = jpeg_views(splits["train"], int(value))
            row = {"method": "jpeg-views", "quality": int(value), "bytes": jpeg_bytes, **common}
            row.update(score(model, splits["test"], views, f"jpeg_q{int(value)}"))
        rows.append(row)
        print(f"{row['method']:>14} {row.get('lam', row.get('quality', ''))!s:>8}: {row['bytes']:>9,} B, "
              f"PSNR {row['test_psnr']:.2f} dB", flush=True)
    num_params = sum(p.numel() for p in make_model(conf.model, splits["train"]).parameters())
    for r in rows:
        r["bits_per_param"] = 8 * r["bytes"] / num_params
    return rows


def header_bytes(stream: bytes) -> int:
    """Bytes of the stream's JSON header (architecture, camera, one entry per tensor)."""
    from nwcodec.codec import parse
    from nwcodec.codec.info import stream_info

    return int(stream_info(parse(stream))["header_bytes"])


def bytes_at(curve: list[tuple[float, float]], psnr: float) -> float | None:
    """Bytes a method needs for ``psnr`` (log-bytes interpolated along its PSNR-sorted points), None outside."""
    pts = sorted((p, math.log(b)) for b, p in curve)
    for (p0, b0), (p1, b1) in zip(pts, pts[1:]):
        if p0 <= psnr <= p1:
            return math.exp(b0 + (b1 - b0) * (psnr - p0) / (p1 - p0)) if p1 > p0 else math.exp(min(b0, b1))
    return None


def ratios(rows: list[dict]) -> dict:
    """EPR bytes / baseline bytes at equal test PSNR (at each EPR point inside the baseline's range)."""
    epr = [(r["bytes"], r["test_psnr"]) for r in rows if r["method"] == "epr"]
    out = {}
    for method in ("float32", "post-training", "jpeg-views"):
        base = [(r["bytes"], r["test_psnr"]) for r in rows if r["method"] == method]
        found = []
        for b, p in base:  # at each baseline point, the EPR curve's bytes for that PSNR
            e = bytes_at(epr, p)
            if e is not None:
                found.append({"psnr": p, "epr_bytes": e, "baseline_bytes": b, "ratio": e / b})
        for b, p in epr:  # at each EPR point, the baseline's bytes for that PSNR
            o = bytes_at(base, p)
            if o is not None:
                found.append({"psnr": p, "epr_bytes": b, "baseline_bytes": o, "ratio": b / o})
        out[method] = sorted(found, key=lambda f: f["psnr"])
    return out


def write_results(rows: list[dict], rat: dict, meta: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scene.json").write_text(json.dumps({"meta": meta, "rows": rows, "ratios": rat}, indent=2))
    lines = [f"# Scene codec benchmark: {meta['scene']}", "",
             f"Training: {meta['train_device']}. Encoding, decoding, rendering and scoring: {meta['eval_machine']}. "
             f"Test PSNR/SSIM over {meta['test_views']} test views ({meta['resolution']}); "
             f"{meta['num_params']:,} parameters; every field trained {meta['iters']} steps.", "",
             "| method | lam / quality | bytes | of which header | bits/param | test PSNR (dB) | SSIM | train s | render rays/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        setting = f"{r['lam']:g}" if "lam" in r else str(r.get("quality", "-"))
        head = f"{r['header_bytes']:,}" if "header_bytes" in r else "-"
        lines.append(f"| {r['method']} | {setting} | {r['bytes']:,} | {head} | {r['bits_per_param']:.3f} | {r['test_psnr']:.2f} | "
                     f"{r['test_ssim']:.4f} | {r['train_seconds']:.0f} | {r['rays_per_second']:,.0f} |")
    lines += ["", "## EPR bytes / baseline bytes at equal test PSNR", "",
              "Targets: <= 0.05 vs float32, <= 0.5 vs post-training codec, <= 0.5 vs JPEG views.", ""]
    for method, found in rat.items():
        if found:
            best = min(f["ratio"] for f in found)
            detail = ", ".join(f"{f['ratio']:.3f} at {f['psnr']:.2f} dB" for f in found)
            lines.append(f"* vs {method}: best {best:.3f} ({detail})")
        else:
            e = max((r for r in rows if r["method"] == "epr"), key=lambda r: r["test_psnr"])
            b = max((r for r in rows if r["method"] == method), key=lambda r: r["test_psnr"])
            lines.append(f"* vs {method}: no overlap in test PSNR; best EPR point {e['bytes']:,} B at {e['test_psnr']:.2f} dB "
                         f"vs {b['bytes']:,} B at {b['test_psnr']:.2f} dB (bytes ratio {e['bytes'] / b['bytes']:.3f}, "
                         f"{e['test_psnr'] - b['test_psnr']:+.2f} dB)")
    (RESULTS / "scene.md").write_text("\n".join(lines) + "\n")
    plot(rows)


def plot(rows: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {"epr": "o-", "post-training": "s-", "jpeg-views": "^-", "float32": "*"}
    for method, style in styles.items():
        pts = sorted((r["bytes"], r["test_psnr"]) for r in rows if r["method"] == method)
        if pts:
            ax.plot([p[0] / 1024 for p in pts], [p[1] for p in pts], style, label=method, markersize=8 if method == "float32" else 5)
    ax.set_xscale("log")
    ax.set_xlabel("bytes sent (KiB, log)")
    ax.set_ylabel("test PSNR (dB)")
    ax.set_title("primitives 100x100: scene codec rate-distortion")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "scene_rd.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--scene", type=Path, default=None, help="scene directory (overrides scene.path)")
    ap.add_argument("--ckpt", type=Path, action="append", default=None,
                    help="checkpoint file(s): all are read, new trainings go to the first (default out/scene_bench/checkpoints.pt)")
    ap.add_argument("--only", nargs="*", default=None, help="train only these jobs (e.g. epr_0.001 float_0 jpeg_50)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--train-only", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    raw = yaml.safe_load(args.config.read_text())
    raw.pop("task", None)
    if args.scene is not None:
        raw["scene"] = {"path": str(args.scene.resolve())}
    conf = parse_scene_config(raw)
    scene_dir = conf.scene.resolve(args.config.parent)
    if not scene_dir.is_dir():
        print(f"scene not found: {scene_dir} (the benchmark needs shared/data/scenes/primitives)")
        return 1
    splits = load_splits(scene_dir, conf.data)
    test = splits["test"]
    splits["test"] = dataclasses.replace(test, images=test.images[:TEST_VIEWS], poses=test.poses[:TEST_VIEWS])
    paths = args.ckpt or [Path("out/scene_bench/checkpoints.pt")]
    ckpts = {}
    for path in paths:
        ckpts.update(torch.load(path, weights_only=True) if path.is_file() else {})
    for method, value in jobs(conf):
        key = job_key(method, value)
        if key not in ckpts and (args.only is None or key in args.only):
            ckpts[key] = train_job(conf, method, value, splits, args.device)
            own = torch.load(paths[0], weights_only=True) if paths[0].is_file() else {}
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            torch.save({**own, key: ckpts[key]}, paths[0])
    if args.train_only:
        return 0
    rows = evaluate(conf, ckpts, splits)
    test = splits["test"]
    meta = {"scene": str(scene_dir.name), "test_views": len(test), "resolution": f"{test.W}x{test.H}",
            "num_params": sum(p.numel() for p in make_model(conf.model, splits["train"]).parameters()),
            "iters": conf.train.iters + conf.rate.pretrain_iters,
            "train_device": ", ".join(sorted({r["train_device"] for r in rows})),
            "eval_machine": f"{platform.machine()} CPU, 1 thread (torch {torch.__version__})",
            "config": str(args.config.relative_to(REPO) if args.config.is_relative_to(REPO) else args.config)}
    write_results(rows, ratios(rows), meta)
    print((RESULTS / "scene.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
