"""What a layered stream holds, level by level (``nwcodec info`` on format 1.4 streams)."""
from __future__ import annotations

import math

from ..bitstream import DEFAULT_LIMITS, Limits
from .info import stream_info
from .levels import parse_layered


def layered_info(data: bytes, limits: Limits = DEFAULT_LIMITS) -> dict:
    """Level 0's tensor table plus, per complete level: byte range, bytes, cumulative bits/param, metrics."""
    ls = parse_layered(data, limits)
    info = stream_info(ls.base)
    params = sum(math.prod(t["shape"]) for t in ls.base.tensors)
    rows = []
    for lv in ls.levels:
        rows.append({"level": lv.index, "start": lv.start, "end": lv.end, "bytes": lv.end - lv.start,
                     "tensors": len(lv.tensors), "bits_per_param": 8.0 * lv.end / params if params else 0.0,
                     "metrics": lv.info.get("metrics", {})})
    info.update(version=f"{ls.version[0]}.{ls.version[1]}", bytes=ls.size, levels=rows, ending=ls.ending,
                bits_per_param=8.0 * ls.size / params if params else 0.0, cut_at=ls.cut_at,
                levels_hint=ls.base.header.get("levels"))
    return info


def format_layered(info: dict) -> str:
    """Level table (offsets, bytes, bits/param of the prefix, metrics) above level 0's tensor table."""
    from .info import format_info

    lines = [f"layered stream: {len(info['levels'])} complete levels"
             + (f" of {info['levels_hint']} announced" if info.get("levels_hint") else "")
             + ("" if info["ending"] != "cut" else f", data cut inside level {len(info['levels'])}"),
             f"{'level':>5s} {'offset':>10s} {'end':>10s} {'bytes':>10s} {'tensors':>7s} {'bits/p':>7s}  metrics"]
    for r in info["levels"]:
        m = ", ".join(f"{k}={v:.4g}" for k, v in r["metrics"].items())
        lines.append(f"{r['level']:>5d} {r['start']:>10,d} {r['end']:>10,d} {r['bytes']:>10,d} {r['tensors']:>7d} "
                     f"{r['bits_per_param']:>7.3f}  {m}")
    return "\n".join(lines) + "\nlevel 0:\n" + format_info(info)
