"""``nwcodec view SCENE.nwc [BASE.nwc]``: the local web viewer (stdlib http.server; rendering needs torch)."""
from __future__ import annotations

import argparse

from .cli_common import number


def _view(a: argparse.Namespace) -> None:
    from .viewer.server import view_command

    view_command(a.streams, port=a.port, rate=a.rate, chunk=a.chunk, size=a.size)


def register(sub: argparse._SubParsersAction) -> None:
    v = sub.add_parser("view", help="local web viewer: stream a scene to the page, render levels as they arrive")
    v.add_argument("streams", nargs="+", help="SCENE.nwc, or SCENE.nwc BASE.nwc for a scene pack")
    v.add_argument("--port", type=number(0, 65535, integer=True), default=8765, help="localhost port (0: any free)")
    v.add_argument("--rate", type=number(1, 1e12), default=1e6, help="bytes per second sent to the page (1 MB/s)")
    v.add_argument("--chunk", type=number(1, 1 << 24, integer=True), default=4096, help="bytes per network chunk")
    v.add_argument("--size", type=number(16, 1024, integer=True), default=128, help="render size in pixels")
    v.set_defaults(func=_view)
