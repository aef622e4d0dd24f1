"""Write the ``block_dct`` conformance vector (``block_dct.nwc`` + ``block_dct.sha256``) into a directory.

Usage: ``python bitstreams/make_block_dct_vector.py OUT_DIR`` (the committed one lives in
``bitstreams/conformance/``). Like ``make_conformance.py`` it never overwrites: an existing vector is
only checked against its digest. Deterministic (fixed seed). Before its digest is written, the decoded
tensors are checked against a float64 evaluation of FORMAT.md 6.7.1 (to float32 rounding).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from nwcodec import decode
from nwcodec.codec.digest import tensor_digest
from nwcodec.codec.encoder import encode_latent_model
from nwcodec.codec.latent_spec import LatentTensor, PriorSpec

NAME = "block_dct"
# (name, latent shape, block [Bh, Bw], per-channel scale/offset)
TENSORS = (("field.planes.0.weight", (4, 16, 24), (8, 8), True),
           ("field.planes.1.weight", (2, 12, 20), (4, 5), False),
           ("grid.weight", (6, 16), (3, 8), True))


def _dct64(n: int) -> np.ndarray:
    k, j = np.arange(n)[:, None], np.arange(n)[None, :]
    s = np.where(k == 0, math.sqrt(1.0 / n), math.sqrt(2.0 / n))
    return s * np.cos(np.pi * (2 * j + 1) * k / (2 * n))


def reference(latent: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """FORMAT.md 6.7.1 in float64: per block ``C_Bh^T (q * step) C_Bw``, then scale and offset."""
    step = params["step"].astype(np.float64)
    bh, bw = step.shape
    *lead, h, w = latent.shape
    q = latent.astype(np.float64).reshape(*lead, h // bh, bh, w // bw, bw) * step[:, None, :]
    out = np.einsum("...iujv,uy,vx->...iyjx", q, _dct64(bh), _dct64(bw)).reshape(latent.shape)
    bshape = (-1,) + (1,) * (latent.ndim - 1)
    return out * params["scale"].astype(np.float64).reshape(bshape) + params["offset"].astype(np.float64).reshape(bshape)


def block_dct_stream() -> tuple[bytes, dict[str, np.ndarray]]:
    """The vector's bytes and its tensors' float64 reference values."""
    rng = np.random.default_rng(21)
    lts, ref = [], {}
    for name, shape, block, per_channel in TENSORS:
        c = shape[0] if per_channel else 1
        latent = np.clip(np.rint(rng.laplace(0, 3, shape)), -40, 40).astype(np.int32)
        latent.flat[0] = 60                                        # one escaped value (outside the table)
        params = {"step": rng.uniform(0.25, 2.0, block).astype(np.float32),
                  "scale": np.geomspace(0.01, 0.2, c).astype(np.float32),
                  "offset": np.linspace(-0.05, 0.05, c).astype(np.float32)}
        lts.append(LatentTensor(name=name, latent=latent, decoder="block_dct", params=params, prior="planes",
                                shape=shape))
        ref[name] = reference(latent, params)
    k = np.arange(-48, 49)
    pmf = np.exp(-np.abs(k) / 3.0)
    bias = np.linspace(-1, 1, 5).astype(np.float32)
    ref["head.bias"] = bias.astype(np.float64)
    data = encode_latent_model(lts, {"planes": PriorSpec(pmf=pmf / pmf.sum() * 0.999, lo=-48)}, {"head.bias": bias},
                               compress_header=False)
    return data, ref


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    out = ap.parse_args(argv).out_dir
    out.mkdir(parents=True, exist_ok=True)
    nwc, sha = out / f"{NAME}.nwc", out / f"{NAME}.sha256"
    if nwc.exists():
        ok = sha.is_file() and tensor_digest(decode(nwc.read_bytes())) == sha.read_text().strip()
        print(f"{NAME}: exists, digest {'ok' if ok else 'MISMATCH'}")
        return 0 if ok else 1
    data, ref = block_dct_stream()
    arrays = decode(data)
    for name, want in ref.items():
        err = np.abs(arrays[name].astype(np.float64) - want).max()
        if not err <= 1e-6 * max(1.0, np.abs(want).max()):
            raise SystemExit(f"{NAME}: {name} differs from the float64 construction by {err}")
    nwc.write_bytes(data)
    sha.write_text(tensor_digest(arrays) + "\n")
    print(f"{NAME}: wrote {len(data)} bytes, digest {sha.read_text().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
