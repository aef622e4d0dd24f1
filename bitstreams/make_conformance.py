"""Write the nwcodec 1.x conformance vectors (``NAME.nwc`` + ``NAME.sha256``) into a given directory.

Usage: ``python bitstreams/make_conformance.py OUT_DIR``. The committed set lives in
``bitstreams/conformance/``; this script never writes there unless that directory is named, and it
never overwrites a vector: existing ones are only checked to decode to their digests, missing ones
are written. Deterministic (fixed seeds). Vectors whose tensors are known by construction are
checked against that construction (not only against this decoder) before their digest is written.

Digest (see FORMAT.md section 6.9): SHA-256 over, for each decoded tensor in stream order, the name
(UTF-8), NUL, the decoded numpy dtype name, NUL, the shape as comma-separated decimals, NUL, then the
C-contiguous little-endian element bytes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from nwcodec import decode, encode, encode_latent_model, parse
from nwcodec.bitstream import Chunk, pack, unpack
from nwcodec.codec.decoder import KNOWN_CHUNKS
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.encoder import _StreamBuilder, encode_delta
from nwcodec.codec.latent_spec import LatentTensor, PriorSpec
from nwcodec.codec.payloads import write_segments
from nwcodec.entropy import choose_table
from nwcodec.entropy.describe import HISTOGRAM, LAPLACE, LOG_HISTOGRAM, TableDescription

KIND_NAMES = {HISTOGRAM: "histogram", LOG_HISTOGRAM: "log-histogram", LAPLACE: "laplace"}


def _laplacian(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return rng.laplace(0.0, scale, shape).astype(np.float32)


def per_tensor() -> bytes:
    """Per-tensor steps, lossless biases, int64/bool/float16 buffers, an empty tensor, a note."""
    rng = np.random.default_rng(1)
    state = {
        "conv.weight": _laplacian(rng, (16, 8, 3, 3), 0.05),
        "conv.bias": rng.normal(0, 0.1, 16).astype(np.float32),
        "fc.weight": rng.normal(0, 0.02, (32, 48)).astype(np.float32),
        "bn.num_batches_tracked": np.array(12345, dtype=np.int64),
        "mask": rng.random((4, 5)) < 0.5,
        "half.weight": rng.normal(0, 1, (8, 12)).astype(np.float16),
        "empty": np.zeros((0, 7), dtype=np.float32),
    }
    return encode(state, quality=50, notes=["conformance: per-tensor steps"], compress_header=False)


def per_channel() -> bytes:
    """Per-output-channel steps (channels of very different scale), RD-optimized rounding, and
    segment lists of several segments."""
    rng = np.random.default_rng(2)
    w = rng.normal(0, 1, (12, 64)).astype(np.float32) * np.geomspace(1e-3, 1.0, 12, dtype=np.float32)[:, None]
    return encode({"w": w, "v": _laplacian(rng, (6, 4, 5), 0.2)}, quality=45, per_channel=True, rdo=0.05,
                  segment_size=256, compress_header=False)


def escapes() -> bytes:
    """A tensor whose few huge outliers are coded through the escape symbol."""
    rng = np.random.default_rng(3)
    w = rng.normal(0, 1.0, (64, 64)).astype(np.float32)
    w.flat[[5, 999, 2048]] = [200.0, -350.5, 1000.0]
    return encode({"outliers": w}, rel_error=0.01, compress_header=False)


def lossless_with_ancillary() -> bytes:
    """Bit-exact float32/bfloat16 with a ``note`` and an unknown ancillary ``zzzz`` chunk inside."""
    rng = np.random.default_rng(4)
    state = {"w": torch.from_numpy(rng.normal(0, 0.1, (24, 24)).astype(np.float32)),
             "bf": torch.from_numpy(rng.normal(0, 1, (5, 6)).astype(np.float32)).to(torch.bfloat16)}
    data = encode(state, lossless=True, notes=["conformance: lossless"], meta={"source": "make_conformance"},
                  compress_header=False)
    chunks = unpack(data, known=KNOWN_CHUNKS).chunks
    chunks.insert(2, Chunk("zzzz", b"ignore me: unknown ancillary chunk"))
    return pack(chunks)


def latent_affine() -> bytes:
    """An EPR ``latent`` tensor with the ``affine`` decoder under a learned-prior table."""
    rng = np.random.default_rng(5)
    latent = np.clip(np.rint(rng.laplace(0, 3, (10, 20))), -30, 30).astype(np.int32)
    lt = LatentTensor(name="layer.weight", latent=latent, decoder="affine", prior="p0",
                      params={"scale": np.geomspace(0.01, 0.1, 10).astype(np.float32),
                              "offset": np.linspace(-0.05, 0.05, 10).astype(np.float32)})
    k = np.arange(-32, 33)
    pmf = np.exp(-np.abs(k) / 3.0)
    prior = PriorSpec(pmf=pmf / pmf.sum() * 0.999, lo=-32)
    return encode_latent_model([lt], {"p0": prior}, {"layer.bias": np.linspace(-1, 1, 10, dtype=np.float32)},
                               compress_header=False)


def compressed_header() -> bytes:
    """Format 1.1: a many-tensor model whose JSON header is stored zlib-compressed (``ZHDR``)."""
    rng = np.random.default_rng(6)
    state = {}
    for i in range(16):
        state[f"blocks.{i}.attn.weight"] = _laplacian(rng, (12, 12), 0.1)
        state[f"blocks.{i}.attn.bias"] = rng.normal(0, 0.01, 12).astype(np.float32)
    return encode(state, quality=40)


def _quant(b: _StreamBuilder, name: str, q: np.ndarray, steps: np.ndarray, axis: int | None,
           table: TableDescription | None = None, dtype: str = "float32") -> np.ndarray:
    """Append a ``quant`` tensor with integers ``q`` and float32 ``steps`` along ``axis`` (any axis);
    returns the tensor it must decode to, computed here with plain numpy broadcasting."""
    k = b.add_table(table if table is not None else choose_table(q))
    w = b._start({"name": name, "shape": list(q.shape), "dtype": dtype, "coding": "quant", "axis": axis, "table": k})
    w.array(steps.astype(np.float32), "<f4")
    write_segments(w, q, b.tables[k].table(), b.segment_size)
    b.payloads.append(w.getvalue())
    bshape = [1] * q.ndim
    if axis is not None:
        bshape[axis] = -1
    return (q.astype(np.float32) * steps.astype(np.float32).reshape(bshape)).astype(dtype)


def _steps_along(w: np.ndarray, axis: int, rel: float) -> np.ndarray:
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1).astype(np.float64)
    rms = np.sqrt(np.mean(moved * moved, axis=1))
    return (rel * np.sqrt(12.0) * np.where(rms > 0, rms, 1.0)).astype(np.float32)


def _quantize_along(w: np.ndarray, steps: np.ndarray, axis: int) -> np.ndarray:
    bshape = [1] * w.ndim
    bshape[axis] = -1
    return np.rint(w / steps.reshape(bshape)).astype(np.int64)


def per_channel_axes() -> tuple[bytes, dict]:
    """Per-channel steps along axes 1 and 2 (``axis != 0``), channels of very different scale."""
    rng = np.random.default_rng(7)
    b = _StreamBuilder("weights", 64)
    expect = {}
    w1 = rng.normal(0, 1, (10, 12)).astype(np.float32) * np.geomspace(1e-3, 1.0, 12, dtype=np.float32)[None, :]
    s1 = _steps_along(w1, 1, 0.02)
    expect["cols"] = _quant(b, "cols", _quantize_along(w1, s1, 1), s1, 1)
    w2 = _laplacian(rng, (3, 4, 5, 2), 0.1) * np.array([0.01, 0.1, 1.0, 10.0, 100.0], np.float32)[None, None, :, None]
    s2 = _steps_along(w2, 2, 0.05)
    expect["mid"] = _quant(b, "mid", _quantize_along(w2, s2, 2), s2, 2, dtype="float16")
    return b.finish({}, compress_header=False), expect


def dct() -> tuple[bytes, dict]:
    """An EPR ``latent`` conv kernel with the ``dct`` decoder (3x3 and 1-D length-5 kernels)."""
    rng = np.random.default_rng(8)
    lts = []
    for name, shape in (("conv2d.weight", (6, 4, 3, 3)), ("conv1d.weight", (5, 2, 5))):
        latent = np.clip(np.rint(rng.laplace(0, 2, shape)), -20, 20).astype(np.int32)
        spatial = shape[2:]
        lts.append(LatentTensor(name=name, latent=latent, decoder="dct", prior="p",
                                params={"step": rng.uniform(0.5, 2.0, spatial).astype(np.float32),
                                        "scale": np.geomspace(0.01, 0.1, shape[0]).astype(np.float32),
                                        "offset": np.linspace(-0.01, 0.01, shape[0]).astype(np.float32)}))
    k = np.arange(-24, 25)
    pmf = np.exp(-np.abs(k) / 2.0)
    return encode_latent_model(lts, {"p": PriorSpec(pmf=pmf / pmf.sum() * 0.999, lo=-24)}, {},
                               compress_header=False), {}


def large_alphabet() -> tuple[bytes, dict]:
    """A histogram table of 4096 values, the default per-table cap (``max_table_alphabet``)."""
    rng = np.random.default_rng(9)
    b = _StreamBuilder("weights", 1 << 20)
    q = np.clip(np.rint(rng.laplace(0, 600, (64, 160))), -2048, 2047).astype(np.int64)
    q[0, :2] = (-2048, 2047)
    counts = np.bincount(q.ravel() + 2048, minlength=4096)
    table = TableDescription(HISTOGRAM, -2048, 4096, 0, tuple(int(c) for c in counts))
    expect = {"wide": _quant(b, "wide", q, np.array([1e-3], np.float32), None, table)}
    return b.finish({}, compress_header=False), expect


def edge_escapes() -> tuple[bytes, dict]:
    """Escapes at the table edges: values at ``lo``/``hi`` (in the table), ``lo-1``/``hi+1`` and the
    int32 extremes (escaped), under a Laplace table and a log-histogram table."""
    b = _StreamBuilder("weights", 1 << 20)
    edge = [-8, 8, -9, 9, -(1 << 31), (1 << 31) - 1, 0, 1, -1, 100000, -100000]
    q1 = np.array(edge * 6, dtype=np.int64).reshape(6, 11)
    lap = TableDescription(LAPLACE, -8, 17, 3000, (0, 40000))
    e1 = _quant(b, "laplace_edges", q1, np.array([2.0 ** -20], np.float32), None, lap)
    q2 = np.array([0, 255, -1, 256, 128] * 4, dtype=np.int64).reshape(4, 5)
    logd = TableDescription(LOG_HISTOGRAM, 0, 256, 1000, tuple([40] + [8] * 254 + [40]))
    e2 = _quant(b, "log_edges", q2, np.array([0.5, 1.0, 2.0, 4.0], np.float32), 0, logd)
    return b.finish({}, compress_header=False), {"laplace_edges": e1, "log_edges": e2}


PARALLEL_SEGMENT = 1 << 18


def large_parallel() -> tuple[bytes, dict]:
    """4,194,304 + 3072 elements (the parallel-decoding threshold is 2^22): a 2048x2048 quant tensor with
    per-column steps (``axis = 1``) in 16 segments, plus a bfloat16 tensor coded as byte planes."""
    rng = np.random.default_rng(10)
    b = _StreamBuilder("weights", PARALLEL_SEGMENT)
    col_scale = np.geomspace(0.01, 1.0, 2048).astype(np.float32)
    w = _laplacian(rng, (2048, 2048), 1.0) * col_scale[None, :]
    steps = _steps_along(w, 1, 0.35)
    expect = {"big": _quant(b, "big", _quantize_along(w, steps, 1), steps, 1)}
    bf = torch.from_numpy(np.round(rng.normal(0, 1, (48, 64)), 1).astype(np.float32)).to(torch.bfloat16)
    b.add_bytes("bf", bf.float().numpy(), "bfloat16")
    expect["bf"] = bf.float().numpy()
    return b.finish({}, compress_header=False), expect


def _residual_pair() -> tuple[bytes, bytes]:
    rng = np.random.default_rng(11)
    base_q = np.clip(np.rint(rng.laplace(0, 3, (12, 10))), -30, 30).astype(np.int32)
    params = {"scale": np.geomspace(0.01, 0.1, 12).astype(np.float32),
              "offset": np.linspace(-0.02, 0.02, 12).astype(np.float32)}
    k = np.arange(-32, 33)
    pmf = np.exp(-np.abs(k) / 3.0)
    base = encode_latent_model([LatentTensor("layer.weight", base_q, "affine", params, "p")],
                               {"p": PriorSpec(pmf / pmf.sum() * 0.999, -32)},
                               {"layer.bias": np.linspace(-1, 1, 12, dtype=np.float32)}, compress_header=False)
    res = np.clip(np.rint(rng.laplace(0, 0.7, (12, 10))), -5, 5).astype(np.int32)
    r = np.arange(-6, 7)
    rpmf = np.exp(-np.abs(r) / 0.7)
    delta = encode_delta([LatentTensor("layer.weight", res, "", {}, "r", res.shape)],
                         {"r": PriorSpec(rpmf / rpmf.sum() * 0.999, -6)},
                         {"layer.bias": np.linspace(-0.5, 0.5, 12, dtype=np.float32)}, base, kind="weights")
    return base, delta


def residual_base() -> tuple[bytes, dict]:
    """The 1.0 base of the ``residual_delta`` pair (a ``latent`` affine tensor and a bias)."""
    return _residual_pair()[0], {}


def residual_delta() -> tuple[bytes, dict]:
    """Format 1.1 weights delta on ``residual_base``: a ``BASE`` chunk and ``residual`` coding
    (``synthesize(affine, base latent + residual, base params)``) plus its own lossless bias."""
    return _residual_pair()[1], {}


def tied_aliases() -> tuple[bytes, dict]:
    """Format 1.3: tied tensors coded once (``ALIS`` chunk): a quantized embedding used as the output head and a
    lossless norm weight used twice; the aliases must decode equal to their targets."""
    rng = np.random.default_rng(14)
    emb = rng.normal(0, 0.05, (40, 16)).astype(np.float32)
    norm = rng.normal(1, 0.1, 16).astype(np.float32)
    state = {"embed.weight": emb, "norm.weight": norm, "head.bias": np.zeros(40, np.float32),
             "lm_head.weight": emb, "final_norm.weight": norm}
    data = encode(state, quality=50, compress_header=False)
    arrays = decode(data)
    if not (arrays["lm_head.weight"].tobytes() == arrays["embed.weight"].tobytes()
            and list(arrays)[-2:] == ["lm_head.weight", "final_norm.weight"]):
        raise AssertionError("aliases do not decode as their targets")
    return data, {"norm.weight": norm, "final_norm.weight": norm}


def _old(build):
    """Wrap a generator of the first vector set (no construction check)."""
    return lambda: (build(), {})


VECTORS = {
    "per_tensor": _old(per_tensor),
    "per_channel": _old(per_channel),
    "escapes": _old(escapes),
    "lossless_ancillary": _old(lossless_with_ancillary),
    "latent_affine": _old(latent_affine),
    "compressed_header": _old(compressed_header),   # format 1.1
    "per_channel_axes": per_channel_axes,
    "dct": dct,
    "large_alphabet": large_alphabet,
    "edge_escapes": edge_escapes,
    "large_parallel": large_parallel,
    "residual_base": residual_base,
    "residual_delta": residual_delta,               # format 1.1, decoded with base = residual_base.nwc
    "tied_aliases": tied_aliases,                   # format 1.3 (ALIS)
}


def describe(data: bytes) -> str:
    """One line: codings, table kinds and ancillary chunks of a stream (for the README table)."""
    ps = parse(data)
    codings = sorted({t["coding"] for t in ps.tensors})
    kinds = sorted({KIND_NAMES[d.kind] for d in ps.descriptions})
    return f"codings={codings} tables={kinds} notes={len(ps.notes)} skipped={ps.skipped} bytes={len(data)}"


def base_of(data: bytes, directory: Path) -> bytes | None:
    """The vector in ``directory`` a delta stream names in its ``BASE`` chunk (None for a plain stream)."""
    import hashlib

    want = parse(data).base_sha256
    if want is None:
        return None
    for p in sorted(directory.glob("*.nwc")):
        if hashlib.sha256(p.read_bytes()).digest() == want:
            return p.read_bytes()
    raise FileNotFoundError(f"no vector in {directory} is the base {want.hex()}")


def _check_construction(arrays: dict, expect: dict) -> None:
    for name, want in expect.items():
        got = arrays[name]
        if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
            raise AssertionError(f"{name}: decoded tensor differs from its construction")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path, help="directory to write NAME.nwc and NAME.sha256 into")
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, build in VECTORS.items():
        nwc, sha = args.out_dir / f"{name}.nwc", args.out_dir / f"{name}.sha256"
        if nwc.exists() or sha.exists():
            data = nwc.read_bytes()
            ok = tensor_digest(decode(data, base=base_of(data, args.out_dir))) == sha.read_text().strip()
            print(f"{name}: exists, kept ({'decodes to its digest' if ok else 'DOES NOT decode to its digest'})")
            if not ok:
                return 1
            continue
        data, expect = build()
        nwc.write_bytes(data)
        arrays = decode(data, base=base_of(data, args.out_dir))
        _check_construction(arrays, expect)
        sha.write_text(tensor_digest(arrays) + "\n")
        print(f"{name}: {describe(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
