"""The benchmark's cells: one method at one setting on one scene -> one result row.

Every coded method is scored from the bytes a receiver gets (encode, decode in this process from
the bytes alone, render every test view); the float32 row scores the trained field itself.
Cells checkpoint inside their own directory (``fit_scene`` resumes), and a finished cell's row is
a JSON file, so a rerun skips it.
"""
from __future__ import annotations

import dataclasses
import io
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.evaluate import evaluate_dataset
from nwcodec.nerf.train import load_checkpoint, load_scene_model
from nwcodec.nerf.video import to_uint8
from nwcodec.scene.config import ScenePipelineConfig
from nwcodec.scene.pipeline import encode_fitted, fit_scene, scene_camera
from nwcodec.scene.stream import decode_scene, encode_scene


@dataclass(frozen=True)
class Cell:
    """``method`` in ``epr-grid``, ``float32-grid``, ``post-training``, ``jpeg-views``, ``mlp-epr``."""

    method: str
    value: float = 0.0

    @property
    def key(self) -> str:
        return f"{self.method}_{self.value:g}"

    @property
    def needs(self) -> str | None:
        """The cell whose trained field this one codes (post-training codes the float grid)."""
        return "float32-grid_0" if self.method == "post-training" else None


def jpeg_views(ds: SceneDataset, quality: int) -> tuple[SceneDataset, int]:
    """The training views after a JPEG round trip (8-bit RGB on the background) and their bytes."""
    images, total = [], 0
    for img in to_uint8(ds.images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=int(quality))
        total += buf.tell()
        images.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), np.float32) / 255.0)
    return dataclasses.replace(ds, images=np.stack(images), alphas=None), total  # JPEG views carry no alpha


def share_warmup(cell_dir: Path, pretrain_iters: int) -> Path | None:
    """Start an EPR grid cell from a sibling cell's finished float warm-up, if one exists.

    Every ``epr-grid`` cell of a scene runs the same warm-up (same field, seed and steps; only ``lam``
    differs after it), so the first cell's ``pretrain.pt`` is copied instead of retrained; the seconds it
    records count in the cell's ``train_seconds``."""
    if (cell_dir / "pretrain.pt").is_file() or (cell_dir / "train.pt").is_file() or not pretrain_iters:
        return None
    for src in sorted(cell_dir.parent.glob("epr-grid_*/pretrain.pt")):
        if src.parent == cell_dir or int(load_checkpoint(src)["step"]) != pretrain_iters:
            continue
        shutil.copyfile(src, cell_dir / "pretrain.pt")
        return src.parent
    return None


def float_config(conf: ScenePipelineConfig) -> ScenePipelineConfig:
    """The same field trained float for the EPR runs' total steps (warm-up + EPR steps)."""
    train = dataclasses.replace(conf.train, iters=conf.train.iters + conf.rate.pretrain_iters)
    return dataclasses.replace(conf, train=train)


def score(model, test: SceneDataset, chunk: int) -> dict:
    scores, _ = evaluate_dataset(model.eval(), test, chunk=chunk)
    return {"test_psnr": scores["mean_psnr"], "test_ssim": scores["mean_ssim"],
            "rays_per_second": scores["rays_per_second"], "view_psnr": [v["psnr"] for v in scores["views"]]}


def coded_row(stream: bytes, test: SceneDataset, chunk: int) -> dict:
    """Decode ``stream`` from its bytes (as a receiver) and score it."""
    t0 = time.perf_counter()
    receiver = decode_scene(bytes(stream))
    return {"bytes": len(stream), "decode_seconds": time.perf_counter() - t0, **score(receiver, test, chunk)}


def run_cell(cell: Cell, conf: ScenePipelineConfig, splits: dict, cell_dir: Path, device: str = "cpu",
             progress: bool = False) -> dict:
    """Train (or reuse) and score one cell; returns its row (``train_seconds`` of this cell's training)."""
    cell_dir.mkdir(parents=True, exist_ok=True)
    test, chunk = splits["test"], conf.train.chunk
    camera = scene_camera(test)
    row: dict = {"method": cell.method}
    if cell.method in ("epr-grid", "mlp-epr"):
        if cell.method == "epr-grid":
            share_warmup(cell_dir, conf.rate.pretrain_iters)
        model, fit = fit_scene(conf.model, conf.train, conf.rate, cell.value, splits["train"], splits["val"],
                               cell_dir, device=device, progress=progress)
        stream = encode_fitted(model.cpu().eval(), cell.value, conf.rate, camera)
        (cell_dir / "scene.nwc").write_bytes(stream)
        row.update(lam=cell.value, train_seconds=fit["train_seconds"], **coded_row(stream, test, chunk))
    elif cell.method in ("float32-grid", "jpeg-views"):
        fconf = float_config(conf)
        train, sent = splits["train"], None
        if cell.method == "jpeg-views":
            train, sent = jpeg_views(train, int(cell.value))
            row["quality"] = int(cell.value)
        model, fit = fit_scene(fconf.model, fconf.train, fconf.rate, 0.0, train, splits["val"], cell_dir,
                               device=device, progress=progress)
        n = sum(p.numel() for p in model.parameters())
        row.update(train_seconds=fit["train_seconds"], bytes=4 * n if sent is None else sent,
                   **score(model.cpu(), test, chunk))
    elif cell.method == "post-training":
        model = load_scene_model(cell_dir.parent / "float32-grid_0" / "train.pt")
        stream = encode_scene(model, camera=camera, quality=cell.value)
        (cell_dir / "scene.nwc").write_bytes(stream)
        row.update(quality=cell.value, train_seconds=0.0, **coded_row(stream, test, chunk))
    else:
        raise ValueError(f"unknown benchmark method {cell.method!r}")
    row["train_steps"] = conf.train.iters + conf.rate.pretrain_iters
    return row
