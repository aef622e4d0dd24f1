"""What a bitstream holds and where its bytes go (``nwcodec info``)."""
from __future__ import annotations

import math

from .decoder import ParsedStream

CHUNK_FRAMING = 12  # length + type + CRC


def stream_info(ps: ParsedStream) -> dict:
    """Per-tensor bytes and bits per parameter, plus header, table and framing overhead."""
    tensors, params, payload = [], 0, 0
    for i, t in enumerate(ps.tensors):
        n = math.prod(t["shape"])
        size = len(ps.payloads[i]) + CHUNK_FRAMING
        params += n
        payload += size
        tensors.append({"name": t["name"], "shape": list(t["shape"]), "dtype": t["dtype"], "coding": t["coding"],
                        "bytes": size, "bits_per_param": (8.0 * size / n) if n else 0.0})
    table_bytes = sum(len(_desc_bytes(d)) + CHUNK_FRAMING for d in ps.descriptions)
    header_bytes = ps.header_bytes + CHUNK_FRAMING
    return {
        "version": f"{ps.version[0]}.{ps.version[1]}", "kind": ps.header["kind"], "bytes": ps.size,
        "params": params, "bits_per_param": 8.0 * ps.size / params if params else 0.0,
        "header_bytes": header_bytes, "table_bytes": table_bytes, "tables": len(ps.descriptions),
        "payload_bytes": payload, "other_bytes": ps.size - header_bytes - table_bytes - payload,
        "notes": ps.notes, "skipped_chunks": ps.skipped, "tensors": tensors,
        "base": ps.base_sha256.hex() if ps.base_sha256 else None,
    }


def _desc_bytes(d) -> bytes:
    from ..entropy import write_description

    return write_description(d)


def format_info(info: dict, max_rows: int = 200) -> str:
    """Human-readable table of :func:`stream_info`."""
    lines = [f"nwcodec bitstream v{info['version']} ({info['kind']}): {info['bytes']:,} bytes, "
             f"{info['params']:,} params, {info['bits_per_param']:.3f} bits/param"]
    if info.get("base"):
        lines.append(f"base: sha256 {info['base']}")
    lines.append(f"header {info['header_bytes']:,} B, {info['tables']} tables {info['table_bytes']:,} B, "
                 f"payload {info['payload_bytes']:,} B, framing/other {info['other_bytes']:,} B")
    lines.append(f"{'name':50s} {'shape':>18s} {'dtype':>8s} {'coding':>7s} {'bytes':>11s} {'bits/p':>7s}")
    for t in info["tensors"][:max_rows]:
        shape = "x".join(map(str, t["shape"])) or "()"
        lines.append(f"{t['name'][:50]:50s} {shape:>18s} {t['dtype']:>8s} {t['coding']:>7s} "
                     f"{t['bytes']:>11,d} {t['bits_per_param']:>7.3f}")
    if len(info["tensors"]) > max_rows:
        lines.append(f"... {len(info['tensors']) - max_rows} more tensors")
    for n in info["notes"]:
        lines.append(f"note: {n}")
    if info["skipped_chunks"]:
        lines.append(f"skipped ancillary chunks: {', '.join(info['skipped_chunks'])}")
    return "\n".join(lines)
