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
                          quality=25, compress_header=False)


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
                          quality=20, per_channel=True, meta={"vector": "mixed"})


VECTORS = {"small": small, "mixed": mixed}


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
