"""``nwcodec demo [--out DIR]``: the built-in procedural scene, coded and rendered (``nwcodec[scenes]``)."""
from __future__ import annotations

import argparse

from .errors import NwcodecError


def _demo(a: argparse.Namespace) -> None:
    from .extras import require

    require("scenes", "torch")
    from .apps.demo import main

    if main(a.out) != 0:
        raise NwcodecError("the demo did not finish")


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("demo", help="train, code, decode and render the built-in procedural scene (a few minutes)")
    d.add_argument("--out", default=None, help="output directory (default out/demo)")
    d.set_defaults(func=_demo)
