"""``nwcodec configs [list] | configs copy NAME DEST``: the built-in training configs (base install)."""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .errors import InputError


def _first_line(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _configs(a: argparse.Namespace) -> None:
    from . import resources

    if a.action in (None, "list"):
        for name in resources.list_configs():
            print(f"{name:20s} {_first_line(resources.config_path(name))}")
        return
    if a.action != "copy" or len(a.args) != 2:
        raise InputError("usage: nwcodec configs copy NAME DEST")
    src = resources.config_path(a.args[0])
    dest = Path(a.args[1])
    if dest.is_dir():
        dest = dest / src.name
    if dest.exists():
        raise InputError(f"{dest} exists (not overwritten)")
    shutil.copyfile(src, dest)
    print(f"configs: {src.name} -> {dest}", flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("configs", help="list the built-in configs, or copy one: configs copy NAME DEST")
    c.add_argument("action", nargs="?", choices=("list", "copy"), help="list (default) or copy")
    c.add_argument("args", nargs="*", help="copy: NAME DEST (a file or a directory)")
    c.set_defaults(func=_configs)
