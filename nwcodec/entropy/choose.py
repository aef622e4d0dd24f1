"""Pick the cheapest table description for a set of integers (table bytes + coded bits)."""
from __future__ import annotations

import numpy as np

from .describe import HISTOGRAM, LAPLACE, LOG_HISTOGRAM, MAX_LOG_CODE, TableDescription, write_description
from .tables import PRECISION

DEFAULT_MAX_ALPHABET = 4096
ESCAPE_BYTES = 3  # typical varint size of an escaped value, for cost estimates only
_HIST_BITS = (4, 6, 8, 10, 12, 16)


def _cost_bits(desc: TableDescription, counts: np.ndarray, n_escapes: int, escape_payload_bits: float) -> float:
    f = desc.table().freqs.astype(np.float64)
    bits = PRECISION - np.log2(f)
    return (8.0 * len(write_description(desc)) + float(counts @ bits[:-1])
            + n_escapes * float(bits[-1]) + escape_payload_bits)


def _scaled(counts: np.ndarray, bits: int) -> np.ndarray:
    top = int(counts.max())
    if top < 1 << bits:
        return counts.astype(np.int64)
    w = -(-counts.astype(np.int64) * ((1 << bits) - 1) // top)   # ceil: non-zero stays non-zero
    return w


def _log_codes(counts: np.ndarray) -> np.ndarray:
    c = np.zeros(counts.size, dtype=np.int64)
    nz = counts > 0
    c[nz] = 1 + np.rint(8.0 * np.log2(counts[nz].astype(np.float64))).astype(np.int64)
    return np.minimum(c, MAX_LOG_CODE)


def _laplace_candidates(lo: int, counts: np.ndarray, esc: int) -> list[TableDescription]:
    values = np.arange(lo, lo + counts.size)
    centre = int(values[int(np.argmax(counts))])
    total = max(int(counts.sum()), 1)
    mad = float(counts @ np.abs(values - centre)) / total
    r0 = mad / (np.sqrt(1.0 + mad * mad) + 1.0) if mad > 0 else 0.01  # ML of P(k) ∝ r^|k|
    out = []
    for factor in (0.7, 0.85, 1.0, 1.1, 1.25):
        r = min(max(r0 ** (1.0 / factor) if r0 > 0 else 0.01, 1e-4), 0.99998)
        out.append(TableDescription(LAPLACE, lo, counts.size, min(esc, (1 << 32) - 1),
                                    (centre, int(round(r * 65536)) & 0xFFFF)))
    return out


def _ranges(values_sorted: np.ndarray, max_alphabet: int) -> list[tuple[int, int]]:
    n = values_sorted.size
    out = []
    for tail in (0.0, 1e-5, 1e-4, 1e-3):
        k = int(np.floor(tail * n))
        lo, hi = int(values_sorted[k]), int(values_sorted[n - 1 - k])
        if hi - lo + 1 > max_alphabet:
            mid = int(values_sorted[n // 2])
            lo, hi = max(lo, mid - max_alphabet // 2), min(hi, mid - max_alphabet // 2 + max_alphabet - 1)
        if (lo, hi) not in out:
            out.append((lo, hi))
    return out


def choose_table(values: np.ndarray, max_alphabet: int = DEFAULT_MAX_ALPHABET) -> TableDescription:
    """Cheapest description (histogram, log-histogram or Laplace) for coding ``values``."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if v.size == 0:
        return TableDescription(HISTOGRAM, 0, 1, 0, (1,))
    vs = np.sort(v)
    best, best_cost = None, np.inf
    for lo, hi in _ranges(vs, max_alphabet):
        inside = (v >= lo) & (v <= hi)
        counts = np.bincount(v[inside] - lo, minlength=hi - lo + 1)
        n_esc = int(v.size - inside.sum())
        esc_bits = 8.0 * ESCAPE_BYTES * n_esc
        cands = [TableDescription(HISTOGRAM, lo, counts.size, int(_scaled(np.append(counts, n_esc), b)[-1]),
                                  tuple(_scaled(np.append(counts, n_esc), b)[:-1].tolist()))
                 for b in _HIST_BITS]
        cands.append(TableDescription(LOG_HISTOGRAM, lo, counts.size, int(_log_esc(n_esc)),
                                      tuple(_log_codes(counts).tolist())))
        cands += _laplace_candidates(lo, counts, n_esc)
        for d in cands:
            c = _cost_bits(d, counts, n_esc, esc_bits)
            if c < best_cost:
                best, best_cost = d, c
    return best


def _log_esc(n_esc: int) -> int:
    """Escape weight on the log-histogram's scale (weights there are ≈ 256 * count)."""
    return 0 if n_esc == 0 else min(256 * n_esc, (1 << 32) - 1)


TAIL_MASSES = (0.0, 2.0 ** -20, 2.0 ** -16, 2.0 ** -12, 2.0 ** -8)
DEFAULT_TAIL_MASS = 2.0 ** -16


def pmf_window(p: np.ndarray, tail_mass: float, max_alphabet: int) -> tuple[int, int]:
    """Indices ``[a, b]`` of ``p`` leaving at most ``tail_mass`` outside (half on each side, as
    tensorflow-compression's ``tail_mass``), narrowed to the ``max_alphabet`` most probable
    consecutive values if still wider."""
    c = np.cumsum(p)
    a = int(np.searchsorted(c, tail_mass / 2, side="right")) if tail_mass > 0 else 0
    rc = np.cumsum(p[::-1])
    b = p.size - 1 - (int(np.searchsorted(rc, tail_mass / 2, side="right")) if tail_mass > 0 else 0)
    a, b = min(a, p.size - 1), max(b, 0)
    if b < a:
        a = b = int(np.argmax(p))
    if b - a + 1 > max_alphabet:
        inner = np.concatenate(([0.0], np.cumsum(p[a:b + 1])))
        sums = inner[max_alphabet:] - inner[:-max_alphabet]
        a += int(np.argmax(sums))
        b = a + max_alphabet - 1
    return a, b


def table_for_pmf(pmf: np.ndarray, lo: int, values: np.ndarray | None = None,
                  weight_bits: int = 16, max_alphabet: int = DEFAULT_MAX_ALPHABET) -> TableDescription:
    """Store a learned prior's mass on ``lo..lo+len(pmf)-1`` as integer table weights.

    The table covers a window of the prior chosen by tail mass (:func:`pmf_window`, at most
    ``max_alphabet`` values); the escape gets the mass outside it, so an honest prior with far
    outliers still gives a small, fast table. Candidates per window: histograms
    ``round(pmf * 2**b)`` (``b = weight_bits`` and 24, for priors with rare but present symbols)
    and a log-histogram (one byte per value, ~9 % relative precision, down to 2**-23). Without
    ``values`` the ``weight_bits`` histogram of the ``DEFAULT_TAIL_MASS`` window is returned;
    with them, the candidate that codes them cheapest.
    """
    p = np.clip(np.asarray(pmf, dtype=np.float64), 0.0, 1.0)

    def hist(a: int, b: int, bits: int) -> TableDescription:
        scale = float(1 << bits)
        w = p[a:b + 1]
        outside = max(0.0, 1.0 - float(w.sum()))
        return TableDescription(HISTOGRAM, int(lo) + a, w.size, int(min(np.rint(outside * scale), (1 << 32) - 1)),
                                tuple(np.rint(w * scale).astype(np.int64).tolist()))

    def log_hist(a: int, b: int) -> TableDescription:
        w = p[a:b + 1]
        outside = max(0.0, 1.0 - float(w.sum()))
        logc = np.zeros(w.size, dtype=np.int64)
        nz = w > 0
        logc[nz] = np.clip(1 + np.rint(8.0 * np.log2(w[nz] * (1 << 23))), 0, MAX_LOG_CODE).astype(np.int64)
        return TableDescription(LOG_HISTOGRAM, int(lo) + a, w.size, int(min(outside * 256 * (1 << 23), (1 << 32) - 1)),
                                tuple(logc.tolist()))

    if values is None:
        return hist(*pmf_window(p, DEFAULT_TAIL_MASS, max_alphabet), weight_bits)
    v = np.asarray(values, dtype=np.int64).ravel()
    best, best_cost = None, np.inf
    for window in dict.fromkeys(pmf_window(p, t, max_alphabet) for t in TAIL_MASSES):
        a, b = window
        inside = (v >= lo + a) & (v <= lo + b)
        counts = np.bincount(v[inside] - (lo + a), minlength=b - a + 1)
        n_esc = int(v.size - inside.sum())
        for d in (hist(a, b, weight_bits), hist(a, b, 24), log_hist(a, b)):
            c = _cost_bits(d, counts, n_esc, 8.0 * ESCAPE_BYTES * n_esc)
            if c < best_cost:
                best, best_cost = d, c
    return best


def _varint_bytes(u: np.ndarray) -> np.ndarray:
    """LEB128 length of each unsigned value."""
    u = np.asarray(u, dtype=np.uint64)
    n = np.ones(u.shape, dtype=np.int64)
    for k in range(1, 10):
        n += (u >= np.uint64(1) << np.uint64(7 * k)).astype(np.int64)
    return n


def coded_bits(desc: TableDescription, values: np.ndarray) -> float:
    """Exact information content in bits of ``values`` coded with ``desc``'s integer table:
    ``-log2(freq/TOTAL)`` of every symbol (escapes included) plus the escaped values' zigzag
    varint bytes, as :func:`~nwcodec.entropy.ans.encode_segment` writes them (one segment; the
    end rule for a final ``lo`` with frequency 1 included). ANS adds < 32 bits per segment."""
    v = np.asarray(values, dtype=np.int64).ravel()
    table = desc.table()
    idx = v - table.lo
    escaped = (idx < 0) | (idx >= table.n)
    if v.size and table.freqs[0] == 1 and idx[-1] == 0:
        escaped[-1] = True
    idx[escaped] = table.n
    bits = table.bits_per_index()
    esc = v[escaped]
    zig = (esc << 1) ^ (esc >> 63)
    return float(bits[idx].sum()) + 8.0 * float(_varint_bytes(zig.astype(np.uint64)).sum())


def table_bits(desc: TableDescription) -> int:
    """Bits of the stored description (the ``TABL`` chunk body)."""
    return 8 * len(write_description(desc))


def payload_bits(desc: TableDescription, arrays: list[np.ndarray], segment_size: int) -> float:
    """Expected size in bits of the segment lists :func:`~nwcodec.codec.payloads.write_segments`
    writes for each of ``arrays`` with ``desc``: per segment the exact information content
    (:func:`coded_bits`), rounded up to 32-bit ANS words plus the one word constriction flushes,
    and the LEB128 framing. Exact up to about one word per segment."""
    total = 0.0
    table = desc.table()
    for arr in arrays:
        v = np.asarray(arr, dtype=np.int64).ravel()
        n_seg = max(1, -(-v.size // segment_size))
        total += 8.0 * int(_varint_bytes(np.array([n_seg]))[0])
        for k in range(n_seg):
            part = v[k * segment_size:(k + 1) * segment_size]
            idx = part - table.lo
            escaped = (idx < 0) | (idx >= table.n)
            if part.size and table.freqs[0] == 1 and idx[-1] == 0:
                escaped[-1] = True
            idx[escaped] = table.n
            info = float(table.bits_per_index()[idx].sum())
            esc = part[escaped]
            esc_bytes = int(_varint_bytes(((esc << 1) ^ (esc >> 63)).astype(np.uint64)).sum())
            words = 0 if info <= 0 else int(np.ceil(info / 32.0)) + 1
            framing = int(_varint_bytes(np.array([part.size, words, esc_bytes])).sum())
            total += 32.0 * words + 8.0 * (esc_bytes + framing)
    return total
