"""Write the format 1.2 vectors (``bitstreams/methods/NAME.nwc`` + ``NAME.sha256``).

Usage: ``python bitstreams/make_method_vectors.py [OUT_DIR]`` (default ``bitstreams/methods``). Like
``make_conformance.py`` it never overwrites a vector: existing ones are checked against their digests,
missing ones are written after their decoded tensors were checked against their construction
(codebook lookups, scattered values and rank-one sums computed here with plain Python loops).
Deterministic (fixed seeds); needs no torch.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nwcodec import decode
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.writer import CodebookPart, FloatVec, LowRankPart, QuantPart, SparsePart, StreamWriter


def _lowrank_loops(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """FORMAT.md 6.18 reduction, element by element (numpy float32 scalars, k ascending)."""
    out = np.zeros((u.shape[0], v.shape[0]), np.float32)
    for i in range(u.shape[0]):
        for j in range(v.shape[0]):
            acc = np.float32(0.0)
            for k in range(u.shape[1]):
                acc = np.float32(acc + np.float32(u[i, k] * v[j, k]))
            out[i, j] = acc
    return out


def codebook() -> tuple[bytes, dict]:
    """One raw codebook for a conv tensor; per-channel quantized codebooks (axis 0) for a matrix."""
    rng = np.random.default_rng(11)
    w = StreamWriter(segment_size=100)
    c1 = np.array([-0.75, -0.125, 0.0, 0.0625, 0.5, 1.5], np.float32)
    q1 = rng.choice(6, (8, 4, 3, 3), p=[.05, .2, .4, .2, .1, .05])
    w.add_parts("conv.weight", q1.shape, [CodebookPart(q1, c1)])
    cq = rng.integers(-300, 300, (6, 4))
    q2 = rng.integers(0, 4, (6, 20))
    w.add_parts("fc.weight", q2.shape, [CodebookPart(q2, FloatVec.from_ints(cq, 2 ** -8), axis=0)])
    w.add_array("fc.bias", rng.normal(0, 0.1, 6).astype(np.float32))
    c2 = (cq.astype(np.float32) * np.float32(2 ** -8))
    want = {"conv.weight": np.array([c1[i] for i in q1.ravel()], np.float32).reshape(q1.shape),
            "fc.weight": np.array([[c2[r, q2[r, j]] for j in range(20)] for r in range(6)], np.float32)}
    return w.finish(), want


def sparse() -> tuple[bytes, dict]:
    """Raw float values with gaps past the table (escapes), quantized values, an all-zero tensor, float16."""
    rng = np.random.default_rng(12)
    w = StreamWriter()
    d1 = np.zeros((40, 50), np.float32)
    pos1 = np.sort(rng.choice(2000, 37, replace=False))
    pos1[-1] = 1999
    d1.ravel()[pos1] = rng.normal(0, 1, 37).astype(np.float32)
    w.add_parts("raw_values", d1.shape, [SparsePart.from_dense(d1)])
    q = rng.integers(-50, 50, 25)
    q[q == 0] = 7
    pos2 = np.sort(rng.choice(300, 25, replace=False))
    w.add_parts("coded_values", (300,), [SparsePart(pos2, FloatVec.from_ints(q, 0.01), 300)])
    w.add_parts("empty_mask", (3, 7), [SparsePart(np.zeros(0, np.int64), FloatVec.raw([]), 21)])
    d4 = np.zeros((5, 6), np.float32)
    d4[0, 0], d4[4, 5] = 3.0, -1.0e-3
    w.add_parts("half", d4.shape, [SparsePart.from_dense(d4)], dtype="float16")
    want2 = np.zeros(300, np.float32)
    for p, v in zip(pos2, q):
        want2[p] = np.float32(v) * np.float32(0.01)
    return w.finish(), {"raw_values": d1, "coded_values": want2, "empty_mask": np.zeros((3, 7), np.float32),
                        "half": d4.astype(np.float16)}


def lowrank() -> tuple[bytes, dict]:
    """Raw factors (a 4-D conv read as 6 × 36) and quantized factors of a 30 × 20 matrix, rank 3 and 5."""
    rng = np.random.default_rng(13)
    w = StreamWriter()
    u1, v1 = rng.normal(size=(6, 3)).astype(np.float32), rng.normal(size=(36, 3)).astype(np.float32)
    w.add_parts("conv.weight", (6, 4, 3, 3), [LowRankPart.from_factors(u1, v1)])
    p2 = LowRankPart.from_factors(rng.normal(size=(30, 5)), rng.normal(size=(20, 5)), 1 / 64, 1 / 32)
    w.add_parts("fc.weight", (30, 20), [p2])
    return w.finish(), {"conv.weight": _lowrank_loops(u1, v1).reshape(6, 4, 3, 3),
                        "fc.weight": _lowrank_loops(p2.u.values.reshape(30, 5), p2.v.values.reshape(20, 5))}


def sum_parts() -> tuple[bytes, dict]:
    """quant + lowrank + sparse (LC's additive combination), codebook + sparse, per-channel quant + lowrank in
    float16, beside a plain 1.0 quant tensor."""
    rng = np.random.default_rng(14)
    w = StreamWriter(segment_size=128)
    x = rng.normal(0, 0.1, (24, 32)).astype(np.float32)
    qp = QuantPart.from_float(x, 0.05)
    lp = LowRankPart.from_factors(rng.normal(0, 0.1, (24, 2)), rng.normal(0, 0.1, (32, 2)), 1 / 256, 1 / 256)
    d = np.zeros((24, 32), np.float32)
    d.ravel()[rng.choice(768, 12, replace=False)] = rng.normal(0, 1, 12)
    sp = SparsePart.from_dense(d, 1 / 128)
    w.add_parts("qls", (24, 32), [qp, lp, sp])
    idx = rng.integers(0, 2, (16, 16))
    cp = CodebookPart(idx, np.array([-0.1, 0.1], np.float32))
    d2 = np.zeros((16, 16), np.float32)
    d2[3, 4], d2[15, 15] = 0.75, -2.0
    sp2 = SparsePart.from_dense(d2)
    w.add_parts("cbs", (16, 16), [cp, sp2])
    qc = QuantPart(rng.integers(-20, 20, (8, 10)), [0.01 * (i + 1) for i in range(8)], axis=0)
    lc = LowRankPart.from_factors(rng.normal(size=(8, 1)), rng.normal(size=(10, 1)))
    w.add_parts("half", (8, 10), [qc, lc], dtype="float16")
    w.add_quant("plain", rng.normal(0, 1, (4, 16)), 0.25)
    want_qls = np.rint(x / np.float32(0.05)).astype(np.float32) * np.float32(0.05)
    want_qls = want_qls + _lowrank_loops(lp.u.values.reshape(24, 2), lp.v.values.reshape(32, 2))
    want_qls = want_qls + sp.dense((24, 32))
    cbs = np.where(idx == 1, np.float32(0.1), np.float32(-0.1)).astype(np.float32) + d2
    steps = np.array([0.01 * (i + 1) for i in range(8)], np.float32)[:, None]
    half = qc.q.astype(np.float32) * steps + _lowrank_loops(lc.u.values.reshape(8, 1), lc.v.values.reshape(10, 1))
    return w.finish(), {"qls": want_qls, "cbs": cbs, "half": half.astype(np.float16)}


VECTORS = {"codebook": codebook, "sparse": sparse, "lowrank": lowrank, "sum_parts": sum_parts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", nargs="?", default=str(Path(__file__).parent / "methods"))
    out = Path(ap.parse_args(argv).out)
    out.mkdir(parents=True, exist_ok=True)
    bad = 0
    for name, make in VECTORS.items():
        nwc, sha = out / f"{name}.nwc", out / f"{name}.sha256"
        if nwc.exists():
            ok = tensor_digest(decode(nwc.read_bytes())) == sha.read_text().strip()
            print(f"{name}: exists, digest {'ok' if ok else 'MISMATCH'}")
            bad += not ok
            continue
        data, want = make()
        arrays = decode(data)
        for k, v in want.items():
            if not (arrays[k].dtype == v.dtype and np.array_equal(arrays[k].view(np.uint8), v.view(np.uint8))):
                raise SystemExit(f"{name}: tensor {k} differs from its construction")
        nwc.write_bytes(data)
        sha.write_text(tensor_digest(arrays) + "\n")
        print(f"{name}: wrote {len(data)} bytes, {len(arrays)} tensors")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
