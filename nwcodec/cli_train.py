"""``nwcodec train | render``: training from YAML configs and scene rendering (need the optional extras)."""
from __future__ import annotations

import argparse

from .cli_common import Timer, number


def _train(a: argparse.Namespace) -> None:
    from .extras import require

    for module in ("torch", "yaml", "tqdm", "matplotlib"):   # checked before any training (λ sweeps plot at the end)
        require("scenes", module)
    from .train.dispatch import run_config

    t = Timer()
    run_config(a.config, overrides=(a.set or []) + ([f"train.device={a.device}"] if a.device else []))
    print(f"train: {a.config} done in {t}", flush=True)


def _render(a: argparse.Namespace) -> None:
    from .extras import require

    require("scenes", "torch")
    require("scenes", "imageio")
    from .scene.render_cli import render_command

    t = Timer()
    render_command(a.streams, out=a.out, dataset=a.dataset, frames=a.frames, size=a.size, device=a.device,
                   threads=a.threads)
    print(f"render: {a.out} in {t}", flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train from a YAML config (classifier, scene or scene pack)")
    t.add_argument("config")
    t.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config key")
    t.add_argument("--device", default=None, choices=("cpu", "cuda"),
                   help="torch device for scene training (default: the config's train.device, else cpu)")
    t.set_defaults(func=_train)
    r = sub.add_parser("render", help="render a scene bitstream (or BASE SCENE pair)")
    r.add_argument("streams", nargs="+", help="SCENE.nwc, or BASE.nwc SCENE.nwc for a scene pack")
    r.add_argument("--out", required=True)
    r.add_argument("--dataset", default=None, help="NeRF-Synthetic scene dir: render its test views with PSNR/SSIM")
    r.add_argument("--frames", type=number(1, 3600, integer=True), default=30, help="orbit video frames (1–3600)")
    r.add_argument("--size", type=number(8, 4096, integer=True), default=None, help="render size (8–4096 pixels)")
    r.add_argument("--device", default="cpu", help="render device, e.g. cuda (default cpu)")
    r.add_argument("--threads", type=number(1, 1024, integer=True), default=None,
                   help="CPU threads (default: all cores)")
    r.set_defaults(func=_render)
