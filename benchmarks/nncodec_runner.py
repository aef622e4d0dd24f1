"""Compress one state dict with NNCodec 2.1.3 at several qps; runs in ``.venv-nncodec`` (never imports nwcodec).

``python nncodec_runner.py MODEL.pt OUT_DIR --qps -40 -36 ...`` writes, per qp, ``qp{QP}.nnc`` (the bitstream),
``qp{QP}.npz`` (the decoded tensors as float32 arrays, no pickle) and adds a row to ``summary.json``:
``{"qp", "bytes", "encode_s", "decode_s", "npz"}``. Points already in ``summary.json`` are kept (resumable).
``MODEL.pt`` must hold float tensors only (NNCodec drops int64 buffers).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path


def import_nncodec():
    """``nncodec.nnc``, after defining the two torchvision op schemas that the registry's CUDA torchvision wheel
    needs to import beside the CPU torch (FACTS.md); nncodec does not use those ops."""
    import torch

    global _LIB
    if _LIB is None:
        try:
            import torchvision  # noqa: F401  (a torchvision matching torch needs no stand-in)
        except Exception:
            _LIB = torch.library.Library("torchvision", "DEF")   # kept alive: a collected Library drops its ops
            _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    from nncodec import nnc

    return nnc


_LIB = None


def run(pt_path: Path, out: Path, qps: list[int], threads: int = 1) -> list[dict]:
    """Encode and decode ``pt_path`` at each of ``qps``; the summary rows (also written to ``summary.json``)."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    nnc = import_nncodec()
    out.mkdir(parents=True, exist_ok=True)
    summary = out / "summary.json"
    rows = json.loads(summary.read_text()) if summary.is_file() else []
    done = {r["qp"] for r in rows}
    for qp in qps:
        if qp in done:
            continue
        bs_path = out / f"qp{qp}.nnc"
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            bs = nnc.compress_model(str(pt_path), bitstream_path=str(bs_path), qp=qp, use_dq=True,
                                    return_bitstream=True, verbose=False)
        t_enc = time.perf_counter() - t0
        bs = bytes(bs)
        bs_path.write_bytes(bs)
        t_dec, spent = float("inf"), 0.0
        for _ in range(3):      # best of up to 3 decodes within 3 s (the bench times nwcodec the same way)
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                rec = nnc.decompress(bytearray(bs), verbose=False)
            dt = time.perf_counter() - t0
            t_dec, spent = min(t_dec, dt), spent + dt
            if spent > 3.0:
                break
        arrays = {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v, dtype=np.float32)
                  for k, v in rec.items()}
        npz = out / f"qp{qp}.npz"
        np.savez(npz, **arrays)
        rows.append({"qp": qp, "bytes": len(bs), "encode_s": t_enc, "decode_s": t_dec, "npz": npz.name})
        summary.write_text(json.dumps(rows, indent=1))
        print(f"nncodec qp {qp}: {len(bs):,} B, encode {t_enc:.1f} s, decode {t_dec:.1f} s", flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("model", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--qps", type=int, nargs="+", required=True)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    run(a.model, a.out, a.qps, a.threads)


if __name__ == "__main__":
    main()
