"""The scene codec end to end: train a field under a rate penalty, encode, decode as a receiver, render.

``run_scene(cfg)`` (``nwcodec train`` with ``task: scene``) writes, per ``lam``, into the output dir:
``scene.nwc`` (the bitstream), ``render/`` (test views scored from the *decoded* field, orbit video,
contact sheet, ``metrics.json``), ``summary.json`` / ``summary.md``, and checkpoints for resuming.
``lam > 0`` trains an EPR-reparameterized field (optionally after ``pretrain_iters`` of float
training) whose integer latents are coded exactly; ``lam = 0`` trains a float field and codes it
with the post-training codec at ``rate.quality``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from nwcodec.scene.render_out import render_to_dir
from nwcodec.errors import InputError
from nwcodec.nerf.config import DataConfig, ModelConfig, TrainConfig
from nwcodec.nerf.dataparsers.blender import SceneDataset, load_blender
from nwcodec.nerf.model import SceneModel, num_parameters
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.rays import get_rays
from nwcodec.nerf.train import make_model, train_scene
from nwcodec.reparam import (StreamRate, estimate_stream, estimated_bits, num_model_params, param_groups, rate_bits,
                             reparameterize)
from nwcodec.scene.config import GenerateConfig, RateConfig, ScenePipelineConfig, parse_scene_config
from nwcodec.scene.stream import camera_info, decode_scene, encode_scene, scene_header

BIT_CHECK_RAYS = 1024


def run_scene(cfg: dict[str, Any], config_dir: str | Path | None = None, progress: bool | None = None) -> dict:
    """Run a ``task: scene`` config; returns the run's summary (a sweep: ``{"runs": [...]}``)."""
    conf = parse_scene_config(cfg)
    torch.set_num_threads(os.cpu_count() or 1)
    progress = sys.stderr.isatty() if progress is None else progress
    out = Path(conf.output.dir)
    scene_dir = conf.scene.resolve(None if config_dir is None else Path(config_dir))
    if scene_dir is None:
        scene_dir = prepare_procedural(conf.scene.generate, out / "data")
    splits = load_splits(scene_dir, conf.data)
    if conf.model.aabb is None and conf.model.type != "mlp":
        conf.model = dataclasses.replace(conf.model, aabb=scene_aabb(scene_dir))
    lams = conf.rate.lam
    runs = [run_one(conf, lam, splits, out if len(lams) == 1 else out / f"lam_{lam:g}", progress) for lam in lams]
    if len(runs) == 1:
        return runs[0]
    sweep = {"runs": runs}
    (out / "sweep.json").write_text(json.dumps(sweep, indent=2), encoding="utf-8")
    rows = [f"| {r['lam']:g} | {r['bytes']:,} | {r['bits_per_param']:.3f} | {r['test_psnr']:.2f} | {r['test_ssim']:.4f} |"
            for r in runs]
    (out / "sweep.md").write_text("| lam | bytes | bits/param | test PSNR | test SSIM |\n|---|---|---|---|---|\n"
                                  + "\n".join(rows) + "\n", encoding="utf-8")
    return sweep


def _log(line: str) -> None:
    """Progress lines on stderr (visible when the output is piped, unlike the tqdm bar)."""
    print(line, file=sys.stderr, flush=True)


def prepare_procedural(gen: GenerateConfig, out_dir: Path) -> Path:
    """Generate the procedural scene into ``out_dir`` unless the same one is already there."""
    info = out_dir / "scene_info.json"
    want = {"seed": gen.seed, "resolution": [gen.resolution] * 2,
            "views": {"train": gen.n_train, "val": gen.n_val, "test": gen.n_test}}
    if info.is_file():
        have = json.loads(info.read_text(encoding="utf-8"))
        if all(have.get(k) == v for k, v in want.items()):
            return out_dir
    return generate_scene(out_dir, seed=gen.seed, resolution=gen.resolution, n_train=gen.n_train,
                          n_val=gen.n_val, n_test=gen.n_test)


def scene_aabb(scene_dir: Path, default: float = 1.5) -> tuple[float, ...]:
    """The scene box ``[xmin, ymin, zmin, xmax, ymax, zmax]`` from ``scene_info.json`` (``aabb`` as
    ``[[min...], [max...]]``), else the cube of half-size ``default``."""
    info = Path(scene_dir) / "scene_info.json"
    box = json.loads(info.read_text(encoding="utf-8")).get("aabb") if info.is_file() else None
    if box is None:
        return (-default,) * 3 + (default,) * 3
    flat = [float(v) for v in (box[0] + box[1] if isinstance(box[0], list) else box)]
    if len(flat) != 6 or not all(flat[i] < flat[i + 3] for i in range(3)):
        raise InputError(f"{info}: aabb must be [[xmin, ymin, zmin], [xmax, ymax, zmax]], got {box!r}")
    return tuple(flat)


def load_splits(scene_dir: Path, data: DataConfig) -> dict[str, SceneDataset]:
    """Train, val (at most ``max_val_views``) and test splits of a NeRF-Synthetic directory."""
    read = dict(background=data.background, downscale=data.downscale)
    return {"train": load_blender(scene_dir, "train", max_views=data.max_train_views, **read),
            "val": load_blender(scene_dir, "val", max_views=data.max_val_views, **read),
            "test": load_blender(scene_dir, "test", **read)}


def fit_scene(model_cfg: ModelConfig, train_cfg: TrainConfig, rate: RateConfig, lam: float,
              train: SceneDataset, val: SceneDataset | None, run_dir: Path | None,
              device: str | torch.device = "cpu", progress: bool = False) -> tuple[SceneModel, dict]:
    """Train a field: float (``lam == 0``) or EPR (warm-started after ``rate.pretrain_iters`` float steps).

    Checkpoints ``pretrain.pt`` / ``train.pt`` in ``run_dir`` make a rerun resume. Returns the
    model (eval mode, on ``device``) and ``{"train_seconds", "val": [...]}``.
    """
    model = make_model(model_cfg, train, seed=train_cfg.seed)
    ckpt = (lambda name: None) if run_dir is None else (lambda name: run_dir / name)
    common = dict(val_dataset=val, device=device, progress=progress, log=_log)
    if lam == 0:
        res = train_scene(model, train, train_cfg, checkpoint_path=ckpt("train.pt"), resume=True, **common)
        return model, {"train_seconds": res.seconds, "val": res.val}
    seconds, resumed = 0.0, run_dir is not None and (run_dir / "train.pt").is_file()
    if rate.pretrain_iters and not resumed:
        pre = dataclasses.replace(train_cfg, iters=rate.pretrain_iters)
        seconds += train_scene(model, train, pre, checkpoint_path=ckpt("pretrain.pt"), resume=True, **common).seconds
    reparameterize(model, rate.reparam)
    groups = param_groups(model)
    scales = {"latent": rate.lr_scales.latent, "decoder": rate.lr_scales.decoder, "prior": rate.lr_scales.prior,
              "float": 1.0}
    pg = [{"params": groups[k], "lr_scale": scales[k]} for k in scales if groups[k]]
    _log(f"  EPR: {num_model_params(model):,} parameters; rate = every coded tensor (latents, decoders, "
         f"float tensors, tables, header)")
    res = train_scene(model, train, train_cfg, rate_fn=StreamRate(model), lam=lam, param_groups=pg,
                      num_params=num_model_params(model), checkpoint_path=ckpt("train.pt"), resume=True, **common)
    return model, {"train_seconds": seconds + res.seconds, "val": res.val}


def scene_camera(ds: SceneDataset) -> dict:
    """The ``scene.camera`` header of a dataset's cameras."""
    angle = 2.0 * math.atan(0.5 * ds.W / ds.focal)
    radius = float(torch.as_tensor(ds.poses[:, :3, 3]).norm(dim=-1).mean())
    return camera_info(ds.near, ds.far, angle, ds.W, ds.H, radius)


def encode_fitted(model: SceneModel, lam: float, rate: RateConfig, camera: dict) -> bytes:
    """Scene bitstream of a fitted model: exact latents (EPR) or the post-training codec."""
    meta = {"lam": lam, "method": "epr" if lam else f"post-training q={rate.quality:g}"}
    options = {} if lam else {"quality": rate.quality}
    return encode_scene(model.cpu(), camera=camera, meta=meta, **options)


@torch.no_grad()
def renders_identical(a: SceneModel, b: SceneModel, ds: SceneDataset, n_rays: int = BIT_CHECK_RAYS) -> bool:
    """Whether two fields render the same rays (of the first view) bit for bit, in eval mode."""
    origins, dirs = get_rays(torch.as_tensor(ds.poses[:1]), ds.H, ds.W, ds.focal)
    o, d = origins.reshape(-1, 3)[:n_rays], dirs.reshape(-1, 3)[:n_rays]
    return bool(torch.equal(a.eval()(o, d)["rgb"], b.eval()(o, d)["rgb"]))


def run_one(conf: ScenePipelineConfig, lam: float, splits: dict[str, SceneDataset], run_dir: Path,
            progress: bool) -> dict:
    """Fit, encode, decode as a receiver, render and summarize one ``lam``."""
    run_dir.mkdir(parents=True, exist_ok=True)
    _log(f"lam={lam:g}: training a {conf.model.type} field for {conf.train.iters} steps on "
         f"{len(splits['train'])} views ({conf.train.device}, {torch.get_num_threads()} threads) -> {run_dir}")
    model, fit = fit_scene(conf.model, conf.train, conf.rate, lam, splits["train"], splits["val"], run_dir,
                           device=conf.train.device, progress=progress)
    model = model.cpu().eval()
    _log(f"lam={lam:g}: trained in {fit['train_seconds']:.0f} s; encoding")
    t0 = time.perf_counter()
    stream = encode_fitted(model, lam, conf.rate, scene_camera(splits["test"]))
    encode_seconds = time.perf_counter() - t0
    (run_dir / "scene.nwc").write_bytes(stream)
    t0 = time.perf_counter()
    receiver = decode_scene((run_dir / "scene.nwc").read_bytes())
    decode_seconds = time.perf_counter() - t0
    _log(f"lam={lam:g}: {len(stream):,} bytes; rendering {len(splits['test'])} test views from the decoded stream")
    metrics = render_to_dir(receiver, run_dir / "render", splits["test"], conf.output.orbit_frames,
                            conf.output.render_size, conf.train.chunk, verbose=progress,
                            camera=scene_header(stream).get("camera"), progress=True, title=f"lam={lam:g}")
    n = num_parameters(receiver)
    summary = {
        "lam": lam, "method": "epr" if lam else "post-training", "bytes": len(stream), "num_params": n,
        "float32_bytes": 4 * n, "bits_per_param": 8 * len(stream) / n, "compression_ratio": 4 * n / len(stream),
        "test_psnr": metrics["mean_psnr"], "test_ssim": metrics["mean_ssim"], "test_views": len(splits["test"]),
        "val": fit["val"], "train_seconds": fit["train_seconds"], "train_iters": conf.train.iters,
        "pretrain_iters": conf.rate.pretrain_iters if lam else 0, "encode_seconds": encode_seconds,
        "decode_seconds": decode_seconds, "rays_per_second": metrics.get("rays_per_second"),
        "stream": str(run_dir / "scene.nwc"), "render_dir": str(run_dir / "render"),
    }
    if lam:
        summary["estimated_bytes"] = estimated_bits(model) / 8
        summary["training_rate_bytes"] = rate_bits(model, noisy=False).item() / 8
        summary["stream_estimate_bytes"] = estimate_stream(model).total_bits / 8
        summary["receiver_bit_identical"] = renders_identical(model, receiver, splits["test"])
    write_summary(run_dir, summary)
    if progress or sys.stdout.isatty():
        print(f"lam={lam:g}: {len(stream):,} bytes ({summary['bits_per_param']:.3f} bits/param), "
              f"test PSNR {summary['test_psnr']:.2f} dB, SSIM {summary['test_ssim']:.4f} -> {run_dir}")
    return summary


def write_summary(run_dir: Path, summary: dict) -> None:
    """``summary.json`` (everything) and ``summary.md`` (the headline numbers)."""
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    keys = ("lam", "method", "bytes", "num_params", "float32_bytes", "bits_per_param", "compression_ratio",
            "estimated_bytes", "training_rate_bytes", "test_psnr", "test_ssim", "train_seconds",
            "rays_per_second", "receiver_bit_identical")
    rows = [f"| {k} | {summary[k]:.4g} |" if isinstance(summary[k], float) else f"| {k} | {summary[k]} |"
            for k in keys if k in summary]
    text = f"# Scene codec run (lam={summary['lam']:g})\n\n| field | value |\n|---|---|\n" + "\n".join(rows) + "\n"
    (run_dir / "summary.md").write_text(text, encoding="utf-8")
