"""The ``nwcodec`` command line. Subcommands live in ``nwcodec/cli_*.py``; each module's
``register(subparsers)`` adds its commands (add a module to ``COMMAND_MODULES`` to add commands).

Input faults print one line (``nwcodec: error: …``) and exit 1, leaving no partial output; usage faults
(bad options) exit 2; a missing optional dependency names its extra (exit 1). This module imports
neither torch nor any optional dependency, so ``decode``, ``info`` and ``eval`` run on the base install.
"""
from __future__ import annotations

import importlib
import signal
import sys

from .cli_common import Parser
from .errors import NwcodecError

COMMAND_MODULES = ("nwcodec.cli_weights", "nwcodec.cli_eval", "nwcodec.cli_plot", "nwcodec.cli_train",
                   "nwcodec.cli_view", "nwcodec.cli_configs", "nwcodec.cli_demo")


def build_parser() -> Parser:
    """Argument parser for all subcommands."""
    from . import __version__

    p = Parser(prog="nwcodec", description="Codec for neural-network weights and neural scenes.")
    p.add_argument("--version", action="version", version=f"nwcodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def _one_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    if argv is None and hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `nwcodec info x | head` ends quietly
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        args.func(args)
    except NwcodecError as exc:
        print(f"nwcodec: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except MemoryError:
        print("nwcodec: error: out of memory", file=sys.stderr)
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
