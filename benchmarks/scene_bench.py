"""Scene benchmark (``make bench-scene``): grid radiance fields under the rate penalty vs the baselines.

For each scene of ``configs/scene_bench.yaml`` (``primitives`` and two procedural scenes, 100x100 and
200x200), side by side in one run: the EPR grid field at several ``lam``, the float32 grid field,
the post-training codec on that float field, the JPEG-of-training-views pipeline retrained with the
grid field on the decoded views, and today's MLP-EPR field. Reported: bytes, PSNR and SSIM over
every test view, train seconds, render rays/s; the issue's targets; RD plots.

Resumable per cell: ``OUT/cells/<scene>/<cell>.json`` is a finished cell, ``OUT/cells/<scene>/<cell>/``
holds its checkpoints (a killed run resumes mid-training). Cells run scene by scene (primitives first).

  python -m benchmarks.scene_bench                       # everything, into out/scene_bench
  python -m benchmarks.scene_bench --scene DIR           # any Blender-format scene directory
  python -m benchmarks.scene_bench --dry-run             # seconds-scale check of every method
  python -m benchmarks.scene_bench --only primitives   # one scene (run one process per scene in parallel)
  python -m benchmarks.scene_bench --report-only         # tables + plot from the cells done so far
  python -m benchmarks.scene_bench --commit-results      # also write benchmarks/results/scene.*
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from benchmarks.scene_bench_config import REPO, BenchConfig, BenchScene, load_bench_config
from benchmarks.scene_methods import Cell, run_cell
from benchmarks.scene_report import write_report
from nwcodec.scene.config import GenerateConfig
from nwcodec.scene.pipeline import load_splits, prepare_procedural, scene_aabb

CONFIG = REPO / "configs" / "scene_bench.yaml"
DRY_CONFIG = REPO / "configs" / "scene_bench_dry.yaml"
RESULTS = REPO / "benchmarks" / "results"


def cells(bench: BenchConfig) -> list[Cell]:
    """Every cell of one scene, in run order: the first ``lam`` (the default stream), the float field and
    the codec that needs it, the other ``lam``, JPEG views, MLP-EPR."""
    return ([Cell("epr-grid", bench.lams[0]), Cell("float32-grid"), *[Cell("post-training", q) for q in bench.post_qualities]]
            + [Cell("epr-grid", lam) for lam in bench.lams[1:]]
            + [Cell("jpeg-views", q) for q in bench.jpeg_qualities]
            + [Cell("mlp-epr", lam) for lam in bench.mlp_lams])


def scene_dir(scene: BenchScene, out: Path) -> Path:
    if scene.path:
        p = Path(scene.path).expanduser()
        return p if p.is_absolute() else (REPO / p).resolve()
    return prepare_procedural(GenerateConfig.from_dict(scene.generate or {}, f"scenes.{scene.name}"),
                              out / "data" / scene.name)


def prepare(bench: BenchConfig, scene: BenchScene, out: Path, which: str, lam: float):
    """The parsed config (box from the scene) and the splits of ``scene`` (test views capped if asked)."""
    root = scene_dir(scene, out)
    conf = bench.scene_config(which, BenchScene(scene.name, path=str(root)), lam)
    if conf.model.type != "mlp" and conf.model.aabb is None:
        conf.model = dataclasses.replace(conf.model, aabb=scene_aabb(root))
    splits = load_splits(root, conf.data)
    if bench.test_views:
        t = splits["test"]
        splits["test"] = dataclasses.replace(t, images=t.images[:bench.test_views], poses=t.poses[:bench.test_views])
    return conf, splits


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run_scene_cells(bench: BenchConfig, scene: BenchScene, out: Path, device: str, train: bool) -> tuple[list, dict]:
    """Run (or, without ``train``, only collect) the cells of one scene; returns rows and scene info."""
    cdir = out / "cells" / scene.name
    rows, missing, info = [], [], {}
    for cell in cells(bench):
        done = cdir / f"{cell.key}.json"
        if done.is_file():
            rows.append(json.loads(done.read_text()))
            continue
        if not train or (cell.needs and not (cdir / f"{cell.needs}.json").is_file()):
            missing.append(cell.key)
            continue
        which = "mlp" if cell.method == "mlp-epr" else "grid"
        conf, splits = prepare(bench, scene, out, which, cell.value)
        info = {"resolution": f"{splits['test'].W}x{splits['test'].H}", "test_views": len(splits["test"])}
        log(f"{scene.name}: {cell.key} ({len(splits['train'])} train views, {len(splits['test'])} test views)")
        row = run_cell(cell, conf, splits, cdir / cell.key, device=device)
        row.update(scene=scene.name, cell=cell.key)
        done.write_text(json.dumps(row, indent=1))
        log(f"{scene.name}: {cell.key}: {row['bytes']:,} B, {row['test_psnr']:.2f} dB, SSIM {row['test_ssim']:.4f}, "
            f"train {row['train_seconds']:.0f} s, {row['rays_per_second']:,.0f} rays/s")
        rows.append(row)
    if rows and not info:
        info = json.loads((cdir / "info.json").read_text()) if (cdir / "info.json").is_file() else {}
    if info:
        (cdir / "info.json").write_text(json.dumps(info))
    return rows, {**info, "missing": missing}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=None, help=f"bench config (default {CONFIG.relative_to(REPO)})")
    ap.add_argument("--scene", default=None, help="benchmark this Blender-format scene directory only")
    ap.add_argument("--only", action="append", default=None, metavar="NAME",
                    help="train only the named scene(s) of the config (repeatable; e.g. one process per scene "
                         "into one --out); the report still collects every scene's finished cells")
    ap.add_argument("--out", type=Path, default=None, help="output dir (default out/scene_bench; dry run out/scene_bench_dry)")
    ap.add_argument("--dry-run", action="store_true", help="every method on a tiny scene in a few steps")
    ap.add_argument("--report-only", action="store_true", help="write the report from finished cells, train nothing")
    ap.add_argument("--commit-results", action="store_true", help="also write benchmarks/results/scene.{md,json,_rd.png}")
    ap.add_argument("--device", default="cpu", help="training device (e.g. cuda); scoring stays on the CPU")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads (default: all cores)")
    a = ap.parse_args(argv)
    config = a.config or (DRY_CONFIG if a.dry_run else CONFIG)
    out = a.out or Path("out/scene_bench_dry" if a.dry_run else "out/scene_bench")
    torch.set_num_threads(max(1, a.threads))
    bench = load_bench_config(config, a.scene)
    for s in bench.scenes:
        if s.path and not scene_dir(s, out).is_dir():
            print(f"scene_bench: scene not found: {scene_dir(s, out)}", file=sys.stderr)
            return 1
    log(f"scene benchmark: {len(bench.scenes)} scene(s) x {len(cells(bench))} cells -> {out} "
        f"({torch.get_num_threads()} threads, {a.device})")
    results, infos = {}, {}
    names = {s.name for s in bench.scenes}
    for name in a.only or []:
        if name not in names:
            print(f"scene_bench: --only {name!r}: no such scene (known: {', '.join(sorted(names))})", file=sys.stderr)
            return 2
    for s in bench.scenes:
        train = not a.report_only and (a.only is None or s.name in a.only)
        rows, info = run_scene_cells(bench, s, out, a.device, train=train)
        if rows:
            results[s.name], infos[s.name] = rows, info
    argv_s = " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:]))
    meta = {"command": f"python -m benchmarks.scene_bench {argv_s}".strip(), "config": bench.source,
            "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores (shared), torch {torch.__version__}",
            "scenes": infos}
    md = write_report(results, meta, out)
    if a.commit_results:
        write_report(results, meta, RESULTS)
    print(md.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
