"""Each committed scene/pack vector renders to its recorded test PSNR (+-0.1 dB), decoded here,
recorded by ``bitstreams/record_psnr.py`` in an earlier process."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nwcodec.nerf.dataparsers import load_blender
from nwcodec.nerf.metrics import psnr
from nwcodec.nerf.procedural import generate_scene
from nwcodec.nerf.render import render_views
from nwcodec.scene.pack import decode_pack_scene
from nwcodec.scene.stream import decode_scene

BITSTREAMS = Path(__file__).resolve().parents[1] / "bitstreams"
VECTORS = sorted(p for d in ("scenes", "packs") for p in (BITSTREAMS / d).glob("*.nwc"))


@pytest.mark.parametrize("vector", VECTORS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vector_renders_to_its_recorded_psnr(vector: Path, tmp_path: Path) -> None:
    record_path = vector.with_suffix(".psnr.json")
    assert record_path.is_file(), f"{vector.name} has no recorded PSNR (run bitstreams/record_psnr.py)"
    record = json.loads(record_path.read_text())
    torch.set_num_threads(1)
    data = vector.read_bytes()
    model = decode_scene(data) if record["base"] is None else decode_pack_scene(
        (BITSTREAMS / record["base"]).read_bytes(), data)
    bg = tuple(float(c) for c in model.background)
    if "path" in record["scene"]:  # a real scene (e.g. shared/data/scenes/primitives): every test view
        root = (BITSTREAMS.parent / record["scene"]["path"]).resolve()
        if not (root / "transforms_test.json").is_file():
            pytest.skip(f"{record['scene']['path']} not present")
        scene = load_blender(root, "test", background=bg)
    else:
        scene = load_blender(generate_scene(tmp_path, **record["scene"]["generate"]), "test", background=bg)
    out = render_views(model, scene.poses[: record["views"]], scene.H, scene.W, scene.focal)
    values = [psnr(a, b) for a, b in zip(out.images, scene.images)]
    assert len(values) == record["views"]
    assert abs(np.mean(values) - record["mean_psnr"]) <= 0.1, (np.mean(values), record["mean_psnr"])
