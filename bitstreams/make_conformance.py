"""Write the nwcodec 1.0 conformance vectors (``NAME.nwc`` + ``NAME.sha256``) into a given directory.

Usage: ``python bitstreams/make_conformance.py OUT_DIR [--force]``. The committed set lives in
``bitstreams/conformance/``; this script never writes there unless that directory is named, and it
refuses to overwrite existing vectors without ``--force``. Deterministic (fixed seeds).

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
from nwcodec.codec.latent_spec import LatentTensor, PriorSpec
from nwcodec.entropy.describe import HISTOGRAM, LAPLACE, LOG_HISTOGRAM
from nwcodec.codec.digest import tensor_digest

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


VECTORS = {
    "per_tensor": per_tensor,
    "per_channel": per_channel,
    "escapes": escapes,
    "lossless_ancillary": lossless_with_ancillary,
    "latent_affine": latent_affine,
    "compressed_header": compressed_header,   # format 1.1
}


def describe(data: bytes) -> str:
    """One line: codings, table kinds and ancillary chunks of a stream (for the README table)."""
    ps = parse(data)
    codings = sorted({t["coding"] for t in ps.tensors})
    kinds = sorted({KIND_NAMES[d.kind] for d in ps.descriptions})
    return f"codings={codings} tables={kinds} notes={len(ps.notes)} skipped={ps.skipped} bytes={len(data)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path, help="directory to write NAME.nwc and NAME.sha256 into")
    ap.add_argument("--force", action="store_true", help="overwrite existing vectors")
    args = ap.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, build in VECTORS.items():
        nwc, sha = args.out_dir / f"{name}.nwc", args.out_dir / f"{name}.sha256"
        if (nwc.exists() or sha.exists()) and not args.force:
            print(f"{nwc} exists; pass --force to overwrite", file=sys.stderr)
            return 1
        data = build()
        nwc.write_bytes(data)
        sha.write_text(tensor_digest(decode(data)) + "\n")
        print(f"{name}: {describe(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
