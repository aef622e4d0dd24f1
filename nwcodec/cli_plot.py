"""``nwcodec plot``: rate–fidelity curves from results files, as ``compressai.utils.plot`` draws them.

Accepted files: CompressAI style ``{"name": …, "results": {"bpp": […], "psnr": […]}}`` (any two keys, chosen
with ``--x``/``--y``), JSON lines written by ``nwcodec eval --json``, or the benchmark JSON of
``benchmarks/results/*.json`` (``rows`` of ``method``/``bytes``/``fidelity``, grouped by method family).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from .errors import InputError

MAX_RESULT_BYTES = 64 << 20


def load_series(path: Path, x: str, y: str) -> dict[str, tuple[list[float], list[float]]]:
    """``{label: (xs, ys)}`` from one results file."""
    if not path.is_file():
        raise InputError(f"no such results file: {path}")
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise InputError(f"{path}: results file too large")
    text = path.read_text()
    try:
        objs = [json.loads(text)]
    except ValueError:
        try:
            objs = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError:
            raise InputError(f"{path} is not JSON (nor JSON lines)") from None
    out: dict[str, tuple[list[float], list[float]]] = {}
    for o in objs:
        for label, xs, ys in _series_of(o, x, y, path.stem):
            s = out.setdefault(label, ([], []))
            s[0].extend(xs)
            s[1].extend(ys)
    if not out:
        raise InputError(f"{path}: no series with {x!r} and {y!r} found")
    return out


def _series_of(o: object, x: str, y: str, default: str) -> list[tuple[str, list[float], list[float]]]:
    if isinstance(o, dict) and isinstance(o.get("results"), dict):
        r = o["results"]
        if x in r and y in r:
            return [(str(o.get("name", default)), list(map(float, r[x])), list(map(float, r[y])))]
        return []
    if isinstance(o, dict) and isinstance(o.get("rows"), list):
        groups: dict[str, tuple[list[float], list[float]]] = {}
        for row in o["rows"]:
            if isinstance(row, dict) and isinstance(row.get(x), (int, float)) and isinstance(row.get(y), (int, float)):
                fam = re.sub(r"\s*[-+]?[0-9.e-]+\s*(\(.*\))?$", "", str(row.get("method", default))) or default
                g = groups.setdefault(f"{o.get('model', default)}: {fam}" if "model" in o else fam, ([], []))
                g[0].append(float(row[x]))
                g[1].append(float(row[y]))
        return [(k, *v) for k, v in groups.items()]
    if isinstance(o, dict) and isinstance(o.get(x), (int, float)) and isinstance(o.get(y), (int, float)):
        return [(default, [float(o[x])], [float(o[y])])]
    if isinstance(o, dict):   # a benchmark file: {"section": {"rows": …}, …}
        return [s for v in o.values() if isinstance(v, dict) for s in _series_of(v, x, y, default)]
    return []


def _plot(a: argparse.Namespace) -> None:
    from .extras import require

    require("scenes", "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .atomic import atomic_path

    series: dict[str, tuple[list[float], list[float]]] = {}
    for f in a.results:
        series.update(load_series(Path(f), a.x, a.y))
    fig, ax = plt.subplots(figsize=(7, 5))
    for label, (xs, ys) in series.items():
        pts = sorted(zip(xs, ys))
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-" if len(pts) > 1 else "o", label=label)
    ax.set_xlabel(a.x)
    ax.set_ylabel(a.y)
    if a.logx:
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    ax.set_title(a.title or "rate–fidelity")
    ax.legend(fontsize=8)
    suffix = Path(a.output).suffix.lower().lstrip(".")
    if suffix not in ("png", "pdf", "svg"):
        raise InputError(f"output must end in .png, .pdf or .svg, not {Path(a.output).name!r}")
    with atomic_path(a.output) as tmp:
        fig.savefig(tmp, format=suffix, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"{a.output}: {len(series)} series", flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot", help="draw rate–fidelity curves from results JSON files (needs nwcodec[scenes])")
    p.add_argument("results", nargs="+", help="results JSON files (CompressAI style, eval --json lines, benchmarks)")
    p.add_argument("-o", "--output", default="rd.png", help="image file (.png, .pdf, .svg)")
    p.add_argument("--x", default="bytes", help="x key (default bytes; 'bpp' for CompressAI files)")
    p.add_argument("--y", default="fidelity", help="y key (default fidelity; e.g. accuracy, psnr)")
    p.add_argument("--logx", action="store_true", help="logarithmic x axis")
    p.add_argument("--title", default=None)
    p.set_defaults(func=_plot)
