"""``nwcodec train configs/pack_*.yaml``: train a scene pack jointly, write base + per-scene delta streams.

Writes into ``output.dir``: ``base.nwc``, ``scene_<k>.nwc``, ``summary.json`` and ``summary.md``
(per-scene test PSNR of the field decoded from the streams, bytes, and the pack total). With
``base: BASE.nwc`` the listed scenes are fitted one by one against that frozen base instead and only
their ``scene_<k>.nwc`` are written (the base bytes are reused unchanged).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

from nwcodec.errors import ConfigError
from nwcodec.nerf.config import ModelConfig
from nwcodec.nerf.evaluate import evaluate_dataset
from nwcodec.nerf.train import make_model
from nwcodec.scene.pack import decode_pack_scene, encode_pack_base, encode_pack_scene, pack_from_base
from nwcodec.scene.pack_config import PackConfig, parse_pack_config
from nwcodec.scene.pack_model import ScenePack, fit_shared_priors
from nwcodec.scene.pack_train import add_frozen_scene, train_pack
from nwcodec.scene.pipeline import load_splits, prepare_procedural, scene_camera


def run_pack(cfg: dict[str, Any], config_dir: str | Path | None = None, progress: bool | None = None) -> dict:
    """Run a ``task: pack`` config; returns the summary written to ``summary.json``."""
    conf = parse_pack_config(cfg)
    torch.set_num_threads(1)
    progress = sys.stderr.isatty() if progress is None else progress
    out = Path(conf.output.dir)
    out.mkdir(parents=True, exist_ok=True)
    splits = [load_splits(_scene_dir(conf, k, config_dir, out), conf.data) for k in range(len(conf.scenes))]
    t0 = time.perf_counter()
    if conf.base is None:
        base, streams = _train_joint(conf, splits, progress)
        (out / "base.nwc").write_bytes(base)
    else:
        base = _read_base(conf.base, config_dir)
        streams = [_fit_one(conf, base, sp, progress) for sp in splits]
    train_seconds = time.perf_counter() - t0
    scenes = []
    for k, (stream, sp) in enumerate(zip(streams, splits)):
        (out / f"scene_{k}.nwc").write_bytes(stream)
        metrics, _ = evaluate_dataset(decode_pack_scene(base, stream), sp["test"], conf.train.chunk)
        scenes.append({"index": k, "stream": f"scene_{k}.nwc", "bytes": len(stream),
                       "test_psnr": metrics["mean_psnr"], "test_ssim": metrics["mean_ssim"]})
    summary = {"lam": conf.pack.lam, "base_bytes": len(base), "base_reused": conf.base is not None,
               "scene_bytes": sum(s["bytes"] for s in scenes), "scenes": scenes,
               "total_bytes": len(base) * (conf.base is None) + sum(s["bytes"] for s in scenes),
               "mean_test_psnr": sum(s["test_psnr"] for s in scenes) / len(scenes),
               "train_iters": conf.train.iters, "train_seconds": train_seconds}
    _write_summary(out, summary)
    if progress or sys.stdout.isatty():
        print(f"pack: base {len(base):,} B + {len(scenes)} scenes {summary['scene_bytes']:,} B, "
              f"mean test PSNR {summary['mean_test_psnr']:.2f} dB -> {out}")
    return summary


def _scene_dir(conf: PackConfig, k: int, config_dir: str | Path | None, out: Path) -> Path:
    src = conf.scenes[k]
    path = src.resolve(None if config_dir is None else Path(config_dir))
    return path if path is not None else prepare_procedural(src.generate, out / "data" / f"scene_{k}")


def _read_base(path: str, config_dir: str | Path | None) -> bytes:
    p = Path(path).expanduser()
    candidates = [p] if p.is_absolute() else [p] + ([Path(config_dir) / p] if config_dir is not None else [])
    for c in candidates:
        if c.is_file():
            return c.read_bytes()
    raise ConfigError(f"base: base stream not found: {path}")


def _train_joint(conf: PackConfig, splits: list[dict], progress: bool) -> tuple[bytes, list[bytes]]:
    rate = conf.pack
    init = make_model(conf.model or ModelConfig(), splits[0]["train"], seed=conf.train.seed)
    pack = ScenePack.create(init.config, init, len(splits), rate.init_step, rate.min_numel, rate.per_channel,
                            rate.prior)
    fit_shared_priors(pack, rate.prior_fit_steps, conf.train.seed)
    train_pack(pack, {k: sp["train"] for k, sp in enumerate(splits)}, conf.train, rate.lam, rate.lr_scales,
               progress=progress)
    base = encode_pack_base(pack, scene_camera(splits[0]["test"]))
    return base, [encode_pack_scene(pack, k, base, scene_camera(sp["test"])) for k, sp in enumerate(splits)]


def _fit_one(conf: PackConfig, base: bytes, split: dict, progress: bool) -> bytes:
    pack = pack_from_base(base, conf.pack.prior)
    if conf.model is not None and pack.model_config.to_dict() != conf.model.to_dict():
        raise ConfigError("model: differs from the base stream's scene.model (a frozen base fixes the field)")
    k, _ = add_frozen_scene(pack, split["train"], conf.train, conf.pack.lam, conf.pack.lr_scales, progress=progress)
    return encode_pack_scene(pack, k, base, scene_camera(split["test"]))


def _write_summary(out: Path, summary: dict) -> None:
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    rows = [f"| {s['index']} | {s['stream']} | {s['bytes']:,} | {s['test_psnr']:.2f} | {s['test_ssim']:.4f} |"
            for s in summary["scenes"]]
    base_row = "reused (not counted)" if summary["base_reused"] else f"{summary['base_bytes']:,}"
    text = (f"# Scene pack (lam={summary['lam']:g})\n\nbase.nwc: {base_row} bytes; total "
            f"{summary['total_bytes']:,} bytes; mean test PSNR {summary['mean_test_psnr']:.2f} dB\n\n"
            "| scene | stream | bytes | test PSNR | test SSIM |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    (out / "summary.md").write_text(text, encoding="utf-8")
