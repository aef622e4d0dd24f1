"""The ``nwcodec`` command line: encode, decode, info, train, render.

Every failure caused by input (missing file, bad bitstream, bad config) prints one line to
stderr and exits with status 1; no partially written output file is left behind.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from .errors import NwcodecError


def _cmd_encode(a: argparse.Namespace) -> None:
    from .cli_io import atomic_path
    from .codec import encode

    t0 = time.perf_counter()
    data = encode(a.input, quality=a.quality, rel_error=a.rel_error, per_channel=a.per_channel, rdo=a.rdo,
                  lossless=a.lossless, progress=a.progress or sys.stderr.isatty())
    with atomic_path(a.output) as tmp:
        tmp.write_bytes(data)
    print(f"{a.output}: {len(data):,} bytes in {time.perf_counter() - t0:.2f} s")


def _cmd_decode(a: argparse.Namespace) -> None:
    from .cli_io import read_bytes, save_tensors
    from .codec import decode

    t0 = time.perf_counter()
    arrays = decode(read_bytes(a.input))
    save_tensors(arrays, a.output)
    print(f"{a.output}: {len(arrays)} tensors in {time.perf_counter() - t0:.2f} s")


def _cmd_info(a: argparse.Namespace) -> None:
    from .cli_io import read_bytes
    from .codec import parse
    from .codec.info import format_info, stream_info

    info = stream_info(parse(read_bytes(a.input)))
    print(json.dumps(info, indent=1) if a.json else format_info(info))


def _cmd_train(a: argparse.Namespace) -> None:
    from .train.dispatch import run_config

    run_config(a.config, overrides=(a.set or []) + ([f"train.device={a.device}"] if a.device else []))


def _cmd_render(a: argparse.Namespace) -> None:
    from .scene.render_cli import render_command

    render_command(a.streams, out=a.out, dataset=a.dataset, frames=a.frames, size=a.size)


def build_parser() -> argparse.ArgumentParser:
    """Argument parser for all subcommands."""
    p = argparse.ArgumentParser(prog="nwcodec", description="Codec for neural-network weights and neural scenes.")
    sub = p.add_subparsers(dest="command", required=True)
    e = sub.add_parser("encode", help="compress a .pt/.pth/.safetensors model")
    e.add_argument("input")
    e.add_argument("output")
    e.add_argument("--quality", type=float, default=60.0, help="SNR target ≈ quality/2 dB per tensor (default 60)")
    e.add_argument("--rel-error", type=float, default=None, help="target RMS error relative to each tensor's RMS")
    e.add_argument("--per-channel", action="store_true", help="one step per output channel")
    e.add_argument("--rdo", type=float, default=0.0, help="rate-distortion optimized rounding strength (e.g. 0.1)")
    e.add_argument("--lossless", action="store_true", help="bit-exact coding of every tensor")
    e.add_argument("--progress", action="store_true", help="show a progress bar")
    e.set_defaults(func=_cmd_encode)
    d = sub.add_parser("decode", help="decode to .safetensors or .pt")
    d.add_argument("input")
    d.add_argument("output")
    d.set_defaults(func=_cmd_decode)
    i = sub.add_parser("info", help="describe a bitstream")
    i.add_argument("input")
    i.add_argument("--json", action="store_true")
    i.set_defaults(func=_cmd_info)
    t = sub.add_parser("train", help="train from a YAML config (classifier, scene or scene pack)")
    t.add_argument("config")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    t.add_argument("--device", default=None, help="scene training device, e.g. cuda (default: the config's, cpu)")
    t.set_defaults(func=_cmd_train)
    r = sub.add_parser("render", help="render a scene bitstream (or BASE SCENE pair)")
    r.add_argument("streams", nargs="+", help="SCENE.nwc, or BASE.nwc SCENE.nwc for a scene pack")
    r.add_argument("--out", required=True)
    r.add_argument("--dataset", default=None, help="NeRF-Synthetic scene dir: render its test views with PSNR/SSIM")
    r.add_argument("--frames", type=int, default=30, help="orbit video frames")
    r.add_argument("--size", type=int, default=None, help="render size (pixels)")
    r.set_defaults(func=_cmd_render)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except NwcodecError as exc:
        print(f"nwcodec: error: {(str(exc).strip().splitlines() or [type(exc).__name__])[0]}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"nwcodec: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nwcodec: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
