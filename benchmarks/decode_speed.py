"""Decode speed of a MiniLM-sized stream (22.7M params, ~5 bits/param) for several worker counts.

Run: ``python -m benchmarks.decode_speed [stream.nwc]`` (without a stream, a synthetic Laplace
model of the same size is encoded first). Prints seconds per decode (best of 3).
"""
from __future__ import annotations

import sys
import time

import numpy as np

import nwcodec
import nwcodec.codec.info


def synthetic_stream() -> bytes:
    rng = np.random.default_rng(0)
    sd = {"emb": rng.laplace(0, 0.05, (30522, 384)).astype(np.float32)}
    for i in range(36):
        sd[f"w{i}"] = rng.laplace(0, 0.05, (384, 1536 if i % 3 else 384)).astype(np.float32)
    return nwcodec.encode(sd, quality=36)


def main() -> None:
    data = open(sys.argv[1], "rb").read() if len(sys.argv) > 1 else synthetic_stream()
    n = nwcodec.codec.info.stream_info(nwcodec.parse(data))["params"]
    print(f"{len(data):,} bytes, {n:,} params")
    ref = nwcodec.decode(data, workers=1)
    for w in (1, 2, 4, None):
        best = np.inf
        for _ in range(3):
            t = time.perf_counter()
            out = nwcodec.decode(data, workers=w)
            best = min(best, time.perf_counter() - t)
        assert all(np.array_equal(out[k], ref[k]) for k in ref)
        print(f"workers={w or 'auto'}: {best:.3f} s ({n / best / 1e6:.1f} M params/s)")


if __name__ == "__main__":
    main()
