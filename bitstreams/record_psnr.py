"""Record the test PSNR each committed scene/pack vector must render to: ``<vector>.psnr.json``.

``python bitstreams/record_psnr.py`` decodes every vector (a pack scene on its base), renders the
first views of its procedural test split at the vector's recorded resolution and writes the
per-view and mean PSNR; ``tests/test_vector_psnr.py`` re-renders and checks +-0.1 dB.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from nwcodec.nerf.dataparsers import load_blender  # noqa: E402
from nwcodec.nerf.metrics import psnr  # noqa: E402
from nwcodec.nerf.procedural import generate_scene  # noqa: E402
from nwcodec.nerf.render import render_views  # noqa: E402
from nwcodec.scene.pack import decode_pack_scene  # noqa: E402
from nwcodec.scene.stream import decode_scene  # noqa: E402

VIEWS = 3
# vector -> (base vector or None, the procedural scene it was trained on: seed, resolution)
VECTORS = {
    "scenes/demo_scene.nwc": (None, 3, 48),
    "packs/base.nwc": (None, 1, 16),
    "packs/scene_0.nwc": ("packs/base.nwc", 1, 16),
}
# vectors of real scenes (repo-relative Blender directory; every test view is scored)
PATH_VECTORS = {"scenes/primitives_grid.nwc": "../shared/data/scenes/primitives"}


def record_path_vector(vector: str, scene_path: str) -> dict:
    """Record the mean PSNR of ``vector`` over every test view of the real scene at ``scene_path``."""
    torch.set_num_threads(1)
    model = decode_scene((ROOT / vector).read_bytes())
    test = load_blender(ROOT.parent / scene_path, "test", background=tuple(float(c) for c in model.background))
    out = render_views(model, test.poses, test.H, test.W, test.focal)
    values = [float(psnr(a, b)) for a, b in zip(out.images, test.images)]
    record = {"vector": vector, "base": None, "scene": {"path": scene_path}, "views": len(values), "psnr": values,
              "mean_psnr": float(np.mean(values)), "tolerance_db": 0.1}
    path = ROOT / (vector[: -len(".nwc")] + ".psnr.json")
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"{path.relative_to(ROOT)}: {record['mean_psnr']:.2f} dB over {len(values)} views")
    return record


def render_psnr(vector: str, base: str | None, seed: int, resolution: int, views: int = VIEWS) -> list[float]:
    """Per-view PSNR of the decoded vector on the first ``views`` test views of its scene."""
    torch.set_num_threads(1)
    data = (ROOT / vector).read_bytes()
    model = decode_scene(data) if base is None else decode_pack_scene((ROOT / base).read_bytes(), data)
    with tempfile.TemporaryDirectory() as tmp:
        scene = generate_scene(Path(tmp), seed=seed, resolution=resolution, n_train=1, n_val=1, n_test=views)
        test = load_blender(scene, "test", background=tuple(float(c) for c in model.background))
    out = render_views(model, test.poses, test.H, test.W, test.focal)
    return [float(psnr(a, b)) for a, b in zip(out.images, test.images)]


def main() -> int:
    for vector, (base, seed, res) in VECTORS.items():
        values = render_psnr(vector, base, seed, res)
        record = {"vector": vector, "base": base, "scene": {"generate": {"seed": seed, "resolution": res,
                  "n_train": 1, "n_val": 1, "n_test": VIEWS}}, "views": VIEWS, "psnr": values,
                  "mean_psnr": float(np.mean(values)), "tolerance_db": 0.1}
        path = ROOT / (vector[: -len(".nwc")] + ".psnr.json")
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        print(f"{path.relative_to(ROOT)}: {record['mean_psnr']:.2f} dB over {VIEWS} views")
    for vector, scene_path in PATH_VECTORS.items():
        if (ROOT / vector).is_file() and (ROOT.parent / scene_path).is_dir():
            record_path_vector(vector, scene_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
