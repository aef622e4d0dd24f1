"""Write the format-1.5 ``dquant`` conformance vectors (``NAME.nwc`` + ``NAME.sha256``) into a directory.

Usage: ``python bitstreams/make_dq_vectors.py bitstreams/conformance``. Like ``make_conformance.py`` it never
overwrites a vector (existing ones are checked against their digests). Deterministic. Each vector is checked
before its digest is written against a reconstruction computed here with a per-element loop of FORMAT.md 6.16
from the levels in the stream's own construction (not with the package's vectorized reader):

* ``dquant``: ``encode(..., dq=True)`` of a small model (per-tensor steps, float16 and float32 tensors, several
  segments of 500 levels, so the state resets inside a tensor), plus a lossless bias;
* ``rowclass_dq`` / ``rowclass_plain``: ``row_classes=`` streams (dquant levels; plain levels with
  a float16 tensor), checked against the loop-based independent decoder of ``tests/independent``;
* ``dquant_edges``: hand-made levels under per-channel steps (``axis: 1``): every state/parity pair, Q1 zeros,
  negative odd levels, the int32 extremes (``r = 2^32 - 3`` rounds to ``2^32`` in float32) and escapes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from nwcodec import decode, encode, parse
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.encoder import _StreamBuilder
from nwcodec.codec.payloads import write_segments
from nwcodec.entropy import choose_table


def _r_loop(q: np.ndarray) -> np.ndarray:
    """FORMAT.md 6.16 element by element (one segment)."""
    out, x = [], 0
    for v in (int(t) for t in q):
        out.append(2 * v - ((v > 0) - (v < 0)) if x in (1, 2) else 2 * v)
        x = (x + 1) % 4 if v % 2 else (-x) % 4
    return np.array(out, dtype=np.int64)


def _expected(q: np.ndarray, steps: np.ndarray, shape: tuple[int, ...], axis: int | None, seg: int) -> np.ndarray:
    r = np.concatenate([_r_loop(q[i:i + seg]) for i in range(0, q.size, seg)]).reshape(shape)
    step = steps[0] if axis is None else steps.reshape([-1 if d == axis else 1 for d in range(len(shape))])
    with np.errstate(over="ignore"):
        return np.multiply(r.astype(np.float32), step, dtype=np.float32)


def dquant_model() -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(15)
    state = {"conv.weight": rng.laplace(0, 0.05, (16, 8, 3, 3)).astype(np.float32),
             "conv.bias": rng.normal(0, 0.1, 16).astype(np.float32),
             "fc.weight": rng.normal(0, 0.02, (24, 40)).astype(np.float32),
             "half.weight": rng.normal(0, 1, (8, 12)).astype(np.float16)}
    data = encode(state, quality=44, dq=True, segment_size=500, notes=["conformance: dquant (format 1.5)"],
                  compress_header=False)
    return data, state


def dquant_edges() -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(16)
    shape = (6, 10)
    q = rng.integers(-7, 8, size=60).astype(np.int64)
    q[:12] = [1, 2, -1, 0, 3, 1, -2, 0, 0, -3, 4, 5]    # visits every state with both parities
    q[20:24] = [2**31 - 1, -(2**31), 2**31 - 1, 1]      # int32 extremes (escapes), r = ±2^32 ∓ …
    q[40:44] = [900, -901, 1000, -999]                  # more escapes
    steps = np.geomspace(1e-3, 2.0, shape[1]).astype(np.float32)
    seg = 16
    b = _StreamBuilder("weights", seg, max_alphabet=16)
    table = b.add_table(choose_table(q, max_alphabet=16))
    w = b._start({"name": "edges", "shape": list(shape), "dtype": "float32", "coding": "dquant", "axis": 1,
                  "table": table})
    w.array(steps, "<f4")
    write_segments(w, q, b.tables[table].table(), seg)
    b.payloads.append(w.getvalue())
    data = b.finish(None, notes=["conformance: dquant levels at the edges"], compress_header=False)
    return data, {"edges": _expected(q, steps, shape, 1, seg)}


def _rows(rng: np.random.Generator) -> np.ndarray:
    return (rng.laplace(0, 1.0, (48, 30)) * np.geomspace(1e-3, 1.0, 48)[rng.permutation(48), None]).astype(np.float32)


def rowclass_dq() -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(17)
    data = encode({"rows": _rows(rng)}, quality=46, dq=True, row_classes=4, segment_size=300,
                  notes=["conformance: rowclass with dquant levels"], compress_header=False)
    return data, {}


def rowclass_plain() -> tuple[bytes, dict[str, np.ndarray]]:
    rng = np.random.default_rng(18)
    data = encode({"rows": _rows(rng), "half": _rows(rng).astype(np.float16)}, quality=50,
                  row_classes=3, compress_header=False)
    return data, {}


def _check_independent(data: bytes) -> None:
    """The loop-based independent decoder (tests/independent) gives the same tensors."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.independent import decode as ind_decode

    mine, ref = decode(data), dict(ind_decode(data))
    assert list(mine) == list(ref) and all(np.array_equal(mine[k], ref[k]) for k in mine)
    assert any(t["coding"] == "rowclass" for t in parse(data).tensors)


def _check_model(data: bytes, state: dict[str, np.ndarray]) -> None:
    """The decoded quantized tensors equal the loop reconstruction of the levels the encoder chose."""
    from nwcodec.codec.quantize import step_sizes, rel_error_for_quality
    from nwcodec.codec.trellis import DQ_LAMBDA, DQ_STEP_RATIO, dq_quantize

    out = decode(data)
    for t in parse(data).tensors:
        if t["coding"] != "dquant":
            continue
        w = state[t["name"]]
        step = (step_sizes(w, rel_error_for_quality(44), False).astype(np.float64) * DQ_STEP_RATIO).astype(np.float32)
        q = dq_quantize(w.astype(np.float64).ravel() / float(step[0]), DQ_LAMBDA, segment=500)
        want = _expected(q, step, w.shape, None, 500).astype(w.dtype)
        assert np.array_equal(out[t["name"]], want), t["name"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    out = ap.parse_args(argv).out_dir
    out.mkdir(parents=True, exist_ok=True)
    for name, make in (("dquant", dquant_model), ("dquant_edges", dquant_edges), ("rowclass_dq", rowclass_dq),
                       ("rowclass_plain", rowclass_plain)):
        nwc, sha = out / f"{name}.nwc", out / f"{name}.sha256"
        if nwc.exists():
            ok = tensor_digest(decode(nwc.read_bytes())) == sha.read_text().strip()
            print(f"{name}: exists, digest {'ok' if ok else 'MISMATCH'}")
            if not ok:
                return 1
            continue
        data, ref = make()
        assert parse(data).version == (1, 5)
        if name == "dquant":
            _check_model(data, ref)
        elif name.startswith("rowclass"):
            _check_independent(data)
        else:
            got = decode(data)
            assert all(np.array_equal(got[k], v) for k, v in ref.items())
        nwc.write_bytes(data)
        sha.write_text(tensor_digest(decode(data)) + "\n")
        print(f"{name}: wrote {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
