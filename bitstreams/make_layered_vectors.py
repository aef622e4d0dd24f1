"""Write the layered-stream (format 1.4) conformance vectors: ``NAME.nwc`` + ``NAME.levels``.

Usage: ``python bitstreams/make_layered_vectors.py [OUT_DIR]`` (default ``bitstreams/layered``). ``NAME.levels``
holds one line per level: ``k end_offset sha256`` (FORMAT.md 6.9 digest of level ``k``; its prefix ends at
``end_offset``). Existing vectors are never overwritten, only checked. Deterministic (fixed seeds). Each level's
digest is cross-checked against the independent decoder (tests/independent/layered.py) before it is written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nwcodec import decode  # noqa: E402
from nwcodec.codec.digest import tensor_digest  # noqa: E402
from nwcodec.codec.levels import parse_layered  # noqa: E402
from nwcodec.codec.levels_encode import LevelSpec, encode_layered  # noqa: E402
from tests.independent import digest  # noqa: E402
from tests.independent.layered import decode_level  # noqa: E402


def small() -> bytes:
    """Three levels of a tiny layer: 75 % sparse, then filled in (factor 1), then a 4× finer step."""
    rng = np.random.default_rng(11)
    state = {"fc.weight": rng.laplace(0, 0.1, (6, 12)).astype(np.float32),
             "fc.bias": rng.normal(0, 0.1, 6).astype(np.float32)}
    return encode_layered(state, [LevelSpec(sparsity=0.75, metrics={"accuracy": 0.5}),
                                  LevelSpec(factor=1, metrics={"accuracy": 0.75}),
                                  LevelSpec(factor=4, metrics={"accuracy": 0.9})],
                          quality=25, compress_header=False, allocation="tensor")


def mixed() -> bytes:
    """Per-channel steps, float16 and int64 tensors, a ZHDR header, 4 levels of sparsity 90/50/0/0 and
    factors 2/3/2, and a level whose targets change a bias (re-sent losslessly, replacing it)."""
    rng = np.random.default_rng(12)
    w = (rng.normal(0, 1, (16, 8, 3, 3)) * np.geomspace(0.01, 1, 16)[:, None, None, None]).astype(np.float32)
    state = {"conv.weight": w, "conv.bias": rng.normal(0, 0.1, 16).astype(np.float32),
             "fc.weight": rng.normal(0, 0.05, (10, 64)).astype(np.float16),
             "steps": np.array(7, dtype=np.int64)}
    moved = dict(state, **{"conv.bias": state["conv.bias"] + np.float32(0.01)})
    return encode_layered(state, [LevelSpec(sparsity=0.9), LevelSpec(factor=2, sparsity=0.5),
                                  LevelSpec(factor=3, weights=moved), LevelSpec(factor=2, weights=moved)],
                          quality=20, per_channel=True, meta={"vector": "mixed"}, allocation="tensor")


def scene_psnr(model, views: int = 5) -> float:
    """Mean PSNR of ``model`` on the test views of the demo scene's procedural data (seed 3, 48 px)."""
    import tempfile

    from nwcodec.nerf.dataparsers.blender import load_blender
    from nwcodec.nerf.evaluate import evaluate_dataset
    from nwcodec.nerf.procedural import generate_scene

    with tempfile.TemporaryDirectory() as d:
        generate_scene(d, seed=3, resolution=48, n_train=1, n_val=1, n_test=views)
        return float(evaluate_dataset(model, load_blender(d, "test", background=(1.0, 1.0, 1.0)))[0]["mean_psnr"])


def scene() -> bytes:
    """The committed demo scene (bitstreams/scenes/demo_scene.nwc) as a progressive scene in 3 levels (quality 4,
    step halved per level), each level's PSNR on the scene's 5 test views recorded in its LEVL chunk."""
    import torch

    from nwcodec.scene.levels import decode_scene_level, encode_scene_layered
    from nwcodec.scene.stream import decode_scene

    torch.set_num_threads(1)
    model = decode_scene((ROOT / "bitstreams" / "scenes" / "demo_scene.nwc").read_bytes())
    first = encode_scene_layered(model, 3, quality=4, factor=2, allocation="tensor")
    psnrs = [scene_psnr(decode_scene_level(first, k)) for k in range(3)]
    return encode_scene_layered(model, [LevelSpec(factor=2, metrics={"psnr": round(p, 3)}) for p in psnrs], quality=4,
                                allocation="tensor")


VECTORS = {"small": small, "mixed": mixed, "scene": scene}


def level_lines(data: bytes) -> str:
    """``k end sha256`` per level, after checking the reference and the independent decoder agree."""
    lines = []
    for lv in parse_layered(data).levels:
        ref = tensor_digest(decode(data[:lv.end], level=lv.index))
        if ref != digest(decode_level(data, lv.index)):
            raise SystemExit(f"level {lv.index}: reference and independent decoders disagree")
        lines.append(f"{lv.index} {lv.end} {ref}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", nargs="?", default=str(ROOT / "bitstreams" / "layered"))
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    for name, make in VECTORS.items():
        nwc, lev = out / f"{name}.nwc", out / f"{name}.levels"
        if nwc.exists():
            ok = lev.read_text() == level_lines(nwc.read_bytes())
            print(f"{name}: {'ok' if ok else 'DIGEST MISMATCH'}")
            if not ok:
                raise SystemExit(1)
            continue
        data = make()
        lev.write_text(level_lines(data))
        nwc.write_bytes(data)
        print(f"{name}: wrote {len(data)} bytes, {len(lev.read_text().splitlines())} levels")


if __name__ == "__main__":
    main()
