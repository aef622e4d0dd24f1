"""``nwcodec encode | decode | info``: weights streams. ``decode`` and ``info`` need numpy + constriction only."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .cli_common import Timer, byte_size, fidelity, number, status

MAX_QUALITY = 200.0     # SNR ≈ 100 dB per tensor: beyond float32 precision


def _encode(a: argparse.Namespace) -> None:
    from .cli_io import write_bytes_atomic

    t = Timer()
    if not Path(a.input).exists():
        from .errors import InputError

        raise InputError(f"no such file or directory: {a.input}")
    if a.calibration is not None and (a.arch is None or (a.target_size is None and a.target_fidelity is None)):
        from .errors import InputError

        raise InputError("--calibration needs --arch and --target-size or --target-fidelity")
    opts = dict(per_channel=a.per_channel, rdo=a.rdo, tie=not a.no_tie, dq=a.dq, row_classes=a.row_classes,
                allocation=a.allocation)
    if a.method is not None:
        if a.target_fidelity is not None or a.calibration is not None:
            from .errors import InputError

            raise InputError("--method takes --target-size (or none), not --target-fidelity/--calibration")
        from .methods.post import encode_method

        data = encode_method(a.input, a.method, a.target_size, log=status)
        extra = f" (method {a.method})"
    elif a.target_size is not None or a.target_fidelity is not None:
        data, extra = _encode_target(a, opts)
    else:
        from .codec import encode

        data = encode(a.input, quality=a.quality, rel_error=a.rel_error, lossless=a.lossless, **opts)
        extra = ""
    write_bytes_atomic(a.output, data)
    print(f"{a.output}: {len(data):,} bytes{extra} in {t}", flush=True)


def _encode_target(a: argparse.Namespace, opts: dict) -> tuple[bytes, str]:
    from .codec.encoder import encode
    from .codec.sources import load_source
    from .codec.targets import fidelity_to_distortion, search

    src = load_source(a.input, tie=opts["tie"])
    what = f"{a.target_size:,} bytes" if a.target_size is not None else f"fidelity {a.target_fidelity}"
    how = "data-free allocation" if a.calibration is None else f"allocation calibrated on {a.calibration}"
    status(f"encode: {how} to {what} ({len(src.arrays)} tensors)")
    sens = None
    if a.calibration is not None:
        from .cli_calibrate import calibration_sensitivity
        from .codec.targets import quantized_names

        sens = calibration_sensitivity(src, quantized_names(src), a.arch, a.calibration, a.calibration_size)

    def encode_steps(steps: dict[str, float]) -> bytes:
        return encode(src, steps=steps, **opts)

    r = search(src, encode_steps, target_size=a.target_size,
               target_distortion=None if a.target_fidelity is None else fidelity_to_distortion(a.target_fidelity),
               report=status, sensitivity=sens)
    return r.data, f" ({how}, weight SNR {r.snr_db:.1f} dB, {r.tries} tries)"


def _decode(a: argparse.Namespace) -> None:
    from .cli_io import read_bytes, save_tensors
    from .codec import parse
    from .io import decoded_with_dtypes

    t = Timer()
    data = read_bytes(a.input)
    base = read_bytes(a.base) if a.base else None
    if a.level is not None or _layered(data):   # format 1.4 (FORMAT.md 6.19): the model at one level
        from .codec import decode
        from .codec.levels import parse_layered

        arrays = decode(data, level=a.level, base=base)
        tensors = parse_layered(data, stop_level=a.level).base.tensors if _layered(data) else parse(data).tensors
        save_tensors(arrays, a.output, {t["name"]: t["dtype"] for t in tensors}, [])
        print(f"{a.output}: {len(arrays)} tensors in {t}", flush=True)
        return
    arrays, dtypes = decoded_with_dtypes(data, workers=a.workers, base=base)
    save_tensors(arrays, a.output, dtypes, parse(data).notes)
    print(f"{a.output}: {len(arrays)} tensors in {t}", flush=True)


def _info(a: argparse.Namespace) -> None:
    from .cli_io import read_bytes
    from .codec import parse
    from .codec.info import format_info, stream_info

    data = read_bytes(a.input)
    if _layered(data):   # format 1.4: levels with offsets, bits/param and recorded metrics
        from .codec.levels_info import format_layered, layered_info

        linfo = layered_info(data)
        sys.stdout.write((json.dumps(linfo, indent=1) if a.json else format_layered(linfo)) + "\n")
        return
    ps = parse(data)
    info = stream_info(ps)
    if ps.aliases:
        info["aliases"] = ps.aliases
    text = json.dumps(info, indent=1) if a.json else format_info(info)
    if ps.aliases and not a.json:
        text += "".join(f"\n  {k} = {v} (tied, coded once)" for k, v in ps.aliases.items())
    sys.stdout.write(text + "\n")


def _layered(data: bytes) -> bool:
    from .codec.levels_frame import is_layered

    return is_layered(data)


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("encode", help="compress a model: .pt/.pth/.bin, .safetensors, .npz, shard index or HF dir")
    e.add_argument("input")
    e.add_argument("output")
    how = e.add_mutually_exclusive_group()
    how.add_argument("--quality", type=number(0, MAX_QUALITY, lo_open=True), default=60.0,
                     help=f"mean relative noise 10^(-Q/20) over the quantized tensors (Q/2 dB per tensor with "
                          f"--allocation tensor), in (0, {MAX_QUALITY:g}] (default 60)")
    how.add_argument("--rel-error", type=number(0, 10, lo_open=True), default=None,
                     help="target RMS error relative to each tensor's RMS, in (0, 10]")
    how.add_argument("--target-size", type=byte_size, default=None, metavar="SIZE",
                     help="largest stream ≤ SIZE (e.g. 40KB; KB = 1000 bytes), data-free allocation")
    how.add_argument("--target-fidelity", type=fidelity, default=None, metavar="F",
                     help="smallest stream with weight SNR ≥ F dB ('30dB', summed relative noise) or weight cosine ≥ F")
    how.add_argument("--lossless", action="store_true", help="bit-exact coding of every tensor")
    e.add_argument("--calibration", default=None, metavar="DATA.npz",
                   help="with --target-size/--target-fidelity: measure sensitivities on x_train of DATA.npz "
                        "(needs --arch and nwcodec[torch])")
    e.add_argument("--arch", default=None, choices=("mnist_cnn", "lenet300", "lenet5"),
                   help="built-in architecture of the model, for --calibration")
    e.add_argument("--calibration-size", type=number(1, 100000, integer=True), default=2000,
                   help="calibration images (default 2000)")
    e.add_argument("--per-channel", action="store_true", help="one step per output channel")
    e.add_argument("--rdo", type=number(0, 10), default=0.0, help="rate-distortion optimized rounding, in [0, 10]")
    e.add_argument("--no-tie", action="store_true", help="code tied (shared) tensors separately")
    e.add_argument("--allocation", choices=("size", "tensor"), default="size",
                   help="data-free spread of the noise over tensors: size (default; relative error ∝ sqrt(elements), "
                        "large layers coarser) or tensor (the same relative error for every tensor)")
    e.add_argument("--dq", action="store_true",
                   help="dependent (trellis-coded) quantization, format 1.5 (older decoders refuse it by name)")
    e.add_argument("--row-classes", type=number(2, 16, integer=True), default=0, metavar="C",
                   help="code each quantized tensor under C per-row table classes where smaller (format 1.5)")
    e.add_argument("--method", choices=("opq", "codebook", "lowrank-sparse", "auto"), default=None,
                   help="data-free post-training method (format 1.2 codings, nwcodec.methods); "
                        "--target-size sets its budget (default 2 bits per weight)")
    e.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)
    e.set_defaults(func=_encode)
    d = sub.add_parser("decode", help="decode to .safetensors, .npz or .pt (dtypes as recorded, bfloat16 included)")
    d.add_argument("input")
    d.add_argument("output")
    d.add_argument("--base", default=None, help="the base stream of a delta stream (format 1.1)")
    d.add_argument("--workers", type=number(1, 256, integer=True), default=None, help="decoding processes")
    d.add_argument("--level", type=number(0, 1023, integer=True), default=None,
                   help="layered stream (format 1.4): decode this level (0 = coarsest)")
    d.set_defaults(func=_decode)
    i = sub.add_parser("info", help="describe a bitstream")
    i.add_argument("input")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_info)
