"""Structure-aware mutation classes. Each takes a seeded ``random.Random`` and a parsed valid stream and
returns the mutant's bytes (CRCs repaired unless the class is about the framing itself)."""
from __future__ import annotations

import functools
import json
import random
import struct
import zlib
from collections.abc import Callable

from .container import Stream, header, header_text, join, set_header, set_header_text, svarint, uvarint
from .layout import payload_layout, table_layout

Mutator = Callable[[random.Random, Stream], bytes]
MUTATIONS: dict[str, Mutator] = {}

HUGE_INTS = [2**31, 2**31 - 1, 2**32, 2**32 + 1, 2**40, 2**63, 2**64, 2**64 + 1, 10**30, 10**400, 1 << 16,
             (1 << 16) + 1, 4097, 65536, 100000, 1 << 20, (1 << 22) + 1, 1 << 34]
SMALL_INTS = [-(2**63), -(2**31), -1, 0, 1, 2, 3, 7, 8, 9, 1000]
ODD_NUMBERS = ["1e4000", "-1e4000", "NaN", "Infinity", "-Infinity", "1e-400", "-0", "-0.0", "0.5", "1.0",
               "1E2", "2.0e0", "\"NaN\"", "\"inf\"", "\"1e4000\""]
ODD_VALUES = [None, True, False, "", "x", [], {}, [1], {"a": 1}, "float32", -1, 0.5, [[]], "\u0000", "\ud800"]
DTYPES = ["float32", "float16", "float64", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "bool",
          "complex64", "uint16", "Float32", "", "float"]
CODINGS = ["raw", "quant", "bytes", "latent", "residual", "zero", "sparse", "RAW"]
F32_SPECIAL = [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e-45, 1e-40, 3.4e38, -3.4e38, 1e30, 1.0]


def mutation(fn: Mutator) -> Mutator:
    MUTATIONS[fn.__name__] = fn
    return fn


# ---------- helpers ----------

def _leaves(obj, path=()):
    """(path, value) of every JSON leaf and container."""
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))


def _set(obj, path, value):
    if not path:
        return value
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value
    return obj


def _drop(obj, path):
    cur = obj
    for p in path[:-1]:
        cur = cur[p]
    del cur[path[-1]]


def _with_header(s: Stream, edit) -> bytes:
    h = header(s)
    if h is None:
        return join(s)
    h = edit(h)
    if isinstance(h, (bytes, str)):
        set_header_text(s, h.encode() if isinstance(h, str) else h)
    else:
        set_header(s, h)
    return join(s)


def _marker_text(h, path, literal: str) -> bytes:
    """Header text with the value at ``path`` replaced by a raw JSON ``literal`` (e.g. ``1e4000``)."""
    mark = "@@FUZZ@@"
    h = _set(h, path, mark)
    return json.dumps(h, separators=(",", ":")).replace(json.dumps(mark), literal).encode()


def _tensors(h) -> list:
    t = h.get("tensors") if isinstance(h, dict) else None
    return t if isinstance(t, list) and t else []


def _pick_entry(rng, h):
    ts = [t for t in _tensors(h) if isinstance(t, dict)]
    return rng.choice(ts) if ts else None


def _numeric_paths(h, under=()):
    return [p for p, v in _leaves(h) if p[:len(under)] == under and isinstance(v, (int, float)) and
            not isinstance(v, bool)]


def _payloads(s: Stream):
    """(chunk index, header entry, layout) for each TENS chunk that can be walked."""
    h = header(s) or {}
    ents = _tensors(h)
    out = []
    for j, i in enumerate(s.find(b"TENS")):
        if j < len(ents):
            lay = payload_layout(ents[j], s.chunks[i][1])
            if lay is not None:
                out.append((i, ents[j], lay))
    return out


def _splice(d: bytes, span: tuple[int, int], new: bytes) -> bytes:
    return d[:span[0]] + new + d[span[1]:]


def _varint_edit(rng) -> int:
    return rng.choice([0, 1, 2, rng.randrange(1 << 7), rng.randrange(1 << 14), rng.randrange(1 << 21), 1 << 16,
                       (1 << 20) + 1, 1 << 32, (1 << 64) - 1, 1 << 64, rng.randrange(1 << 64)])


def _fallback(rng, s: Stream) -> bytes:
    return payload_bitflip(rng, s)


# ---------- JSON header ----------

@mutation
def json_huge_int(rng, s):
    def edit(h):
        paths = _numeric_paths(h)
        return _set(h, rng.choice(paths), rng.choice(HUGE_INTS)) if paths else h
    return _with_header(s, edit)


@mutation
def json_negative(rng, s):
    def edit(h):
        paths = _numeric_paths(h)
        if not paths:
            return h
        p = rng.choice(paths)
        v = _leaves_get(h, p)
        return _set(h, p, rng.choice([-1, -v if v else -1, -(2**31), -(2**63), -(10**30)]))
    return _with_header(s, edit)


def _leaves_get(h, path):
    for p in path:
        h = h[p]
    return h


@mutation
def json_odd_number(rng, s):
    """1e4000, NaN/Infinity literals, NaN strings, floats where integers belong."""
    h = header(s)
    if h is None:
        return join(s)
    paths = _numeric_paths(h) or [p for p, _ in _leaves(h) if p]
    set_header_text(s, _marker_text(h, rng.choice(paths), rng.choice(ODD_NUMBERS)))
    return join(s)


@mutation
def json_wrong_type(rng, s):
    def edit(h):
        paths = [p for p, _ in _leaves(h) if p]
        return _set(h, rng.choice(paths), rng.choice(ODD_VALUES)) if paths else h
    return _with_header(s, edit)


@mutation
def json_deep_nesting(rng, s):
    h = header(s)
    if h is None:
        return join(s)
    depth = rng.choice([31, 32, 33, 100, 1000, 100_000, 1_000_000])
    paths = [p for p, _ in _leaves(h) if p]
    nest = rng.choice(["[", "{\"a\":"]) * depth
    close = "]" * depth if nest.startswith("[") else "}" * depth
    set_header_text(s, _marker_text(h, rng.choice(paths), nest + "1" + close))
    return join(s)


@mutation
def json_keys(rng, s):
    """Drop a key, add an unknown one, or rename one (tensor entries and top level)."""
    def edit(h):
        objs = [p for p, v in _leaves(h) if isinstance(v, dict) and v]
        p = rng.choice(objs)
        obj = _leaves_get(h, p)
        k = rng.choice(list(obj))
        op = rng.randrange(3)
        if op == 0:
            del obj[k]
        elif op == 1:
            obj[rng.choice(["extra", "axis", "table", "tables", "params", "decoder", "__proto__"])] = \
                rng.choice(ODD_VALUES[:8])
        else:
            obj[k.upper() if k.upper() != k else k + "_"] = obj.pop(k)
        return h
    return _with_header(s, edit)


@mutation
def json_duplicate_key(rng, s):
    text = header_text(s)
    if text is None:
        return join(s)
    t = text.decode("utf-8", "replace")
    i = t.find("\"name\":")
    if i < 0:
        return join(s)
    set_header_text(s, (t[:i] + "\"name\":\"dup\"," + t[i:]).encode())
    return join(s)


@mutation
def json_text_bytes(rng, s):
    """Raw byte damage to the JSON text (invalid UTF-8, control chars, truncation, stray bytes)."""
    text = header_text(s)
    if text is None:
        return join(s)
    b = bytearray(text)
    op = rng.randrange(5)
    pos = rng.randrange(len(b)) if b else 0
    if op == 0:
        b[pos:pos + 1] = rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x00", b"\n", b"\\ud800"])
    elif op == 1:
        del b[pos:]
    elif op == 2:
        b += rng.choice([b" ", b"x", b"{}", b"\x00", b"\xef\xbb\xbf"])
    elif op == 3:
        b = b"\xef\xbb\xbf" + b
    else:
        b[pos] = rng.randrange(256)
    set_header_text(s, bytes(b))
    return join(s)


@mutation
def json_top_level(rng, s):
    """kind / tables / tensors replaced, the header made an array or a scalar."""
    def edit(h):
        op = rng.randrange(5)
        if op == 0:
            h["kind"] = rng.choice(["scene", "weights", "pack", "", None, 1])
        elif op == 1:
            h["tables"] = rng.choice([0, h.get("tables", 0) + 1, max(0, h.get("tables", 1) - 1)] + HUGE_INTS[:6])
        elif op == 2:
            h["tensors"] = rng.choice([[], {}, None, "x", _tensors(h)[:-1], _tensors(h) + _tensors(h)[-1:]])
        elif op == 3:
            return rng.choice(["[]", "1", "null", "\"x\"", "[{}]"])
        else:
            h["meta"] = rng.choice([{"x": [1] * 1000}, "x" * 10000, None, [[[[]]]]])
        return h
    return _with_header(s, edit)


# ---------- tensor entries ----------

@mutation
def entry_shape(rng, s):
    def edit(h):
        t = _pick_entry(rng, h)
        if t is None or not isinstance(t.get("shape"), list):
            return h
        shp = t["shape"]
        op = rng.randrange(7)
        if op == 0 and shp:
            shp[rng.randrange(len(shp))] += rng.choice([-1, 1, 2])
        elif op == 1:
            shp.insert(rng.randrange(len(shp) + 1), rng.choice([1, 2, 0]))
        elif op == 2 and shp:
            del shp[rng.randrange(len(shp))]
        elif op == 3 and shp:
            shp[rng.randrange(len(shp))] = rng.choice(HUGE_INTS)
        elif op == 4:
            t["shape"] = [rng.choice([2, 1024, 65536]) for _ in range(rng.choice([8, 9, 20]))]
        elif op == 5:
            t["shape"] = shp[::-1]
        else:
            t["shape"] = [0] + shp[1:] if shp else [0]
        return h
    return _with_header(s, edit)


@mutation
def entry_dtype(rng, s):
    def edit(h):
        t = _pick_entry(rng, h)
        if t is not None:
            t["dtype"] = rng.choice(DTYPES)
        return h
    return _with_header(s, edit)


@mutation
def entry_axis(rng, s):
    def edit(h):
        t = _pick_entry(rng, h)
        if t is not None:
            nd = len(t.get("shape", [])) if isinstance(t.get("shape"), list) else 0
            t["axis"] = rng.choice([None, 0, 1, 2, nd - 1, nd, -1, 1.0, True, "0"])
        return h
    return _with_header(s, edit)


@mutation
def entry_coding(rng, s):
    def edit(h):
        t = _pick_entry(rng, h)
        if t is None:
            return h
        t["coding"] = rng.choice(CODINGS)
        if rng.random() < 0.5:   # make the keys fit the new coding, so it gets past the key check
            for k in ("axis", "table", "tables", "decoder", "params"):
                t.pop(k, None)
            extra = {"quant": {"axis": None, "table": 0}, "bytes": {"tables": [0, 0, 0, 0]},
                     "latent": {"decoder": "affine", "params": {"scale": [1], "offset": [1]}, "table": 0},
                     "residual": {"table": 0}}.get(t["coding"], {})
            t.update(extra)
        return h
    return _with_header(s, edit)


@mutation
def entry_decoder(rng, s):
    def edit(h):
        ts = [t for t in _tensors(h) if isinstance(t, dict) and "decoder" in t]
        if not ts:
            return _fallback_edit(rng, h)
        t = rng.choice(ts)
        t["decoder"] = rng.choice(["affine", "dct", "DCT", "", "identity", None, "affine\u0000"])
        if rng.random() < 0.5 and t["decoder"] == "dct":
            shp = t.get("shape", [])
            t["params"] = {"step": shp[2:], "scale": [1], "offset": [1]}
        return h
    return _with_header(s, edit)


def _fallback_edit(rng, h):
    t = _pick_entry(rng, h)
    if t is not None:
        t["name"] = rng.choice(["", "x" * 2000, "\u00e9" * 600, t.get("name", "") + "_"])
    return h


@mutation
def entry_params(rng, s):
    def edit(h):
        ts = [t for t in _tensors(h) if isinstance(t, dict) and isinstance(t.get("params"), dict)]
        if not ts:
            return _fallback_edit(rng, h)
        p = rng.choice(ts)["params"]
        op = rng.randrange(5)
        keys = list(p)
        if op == 0 and keys:
            del p[rng.choice(keys)]
        elif op == 1:
            p[rng.choice(["bias", "step", "scale", "x"])] = [1]
        elif op == 2 and keys:
            p[rng.choice(keys)] = rng.choice([[], [0], [2], [1, 1], [1 << 20], [65536, 65536], [-1]])
        elif op == 3:
            for i in range(20):
                p[f"p{i}"] = [1]
        elif keys:   # reorder params (payload order follows HEAD order)
            items = list(p.items())[::-1]
            p.clear()
            p.update(items)
        return h
    return _with_header(s, edit)


@mutation
def entry_table_index(rng, s):
    def edit(h):
        t = _pick_entry(rng, h)
        if t is None:
            return h
        n = h.get("tables", 1) if isinstance(h.get("tables"), int) else 1
        if "tables" in t and isinstance(t["tables"], list):
            tl = t["tables"]
            op = rng.randrange(3)
            if op == 0 and tl:
                tl[rng.randrange(len(tl))] = rng.choice([0, n - 1, n, -1, 2**32])
            elif op == 1:
                tl.append(0)
            else:
                t["tables"] = tl[:-1]
        else:
            t["table"] = rng.choice([0, n - 1, n, n + 1, -1, 2**32, None, 0.0])
        return h
    return _with_header(s, edit)


@mutation
def entry_list(rng, s):
    """Tensor entries reordered, duplicated (duplicate names) or dropped."""
    def edit(h):
        ts = _tensors(h)
        if len(ts) < 1:
            return h
        op = rng.randrange(3)
        if op == 0 and len(ts) > 1:
            i, j = rng.sample(range(len(ts)), 2)
            ts[i], ts[j] = ts[j], ts[i]
        elif op == 1:
            ts[rng.randrange(len(ts))] = dict(ts[0])
        else:
            del ts[rng.randrange(len(ts))]
        return h
    return _with_header(s, edit)


@mutation
def scene_config(rng, s):
    """Edits of the scene header (field config, render settings, camera): huge, zero, negative, wrong types."""
    def edit(h):
        sc = h.get("scene") if isinstance(h, dict) else None
        if not isinstance(sc, dict):
            return _fallback_edit(rng, h)
        paths = [p for p, _ in _leaves(sc) if p]
        p = rng.choice(paths)
        v = rng.choice([0, -1, 1, 2, 1000, 100_000, 2**31, 10**30, 1e308, 0.5, None, True, "x", [], {}, [64] * 100])
        _set(sc, p, v)
        if rng.random() < 0.3 and isinstance(sc.get("model"), dict):   # the depth=1000, width=100000
            for k in ("coarse", "fine"):
                if isinstance(sc["model"].get(k), dict):
                    sc["model"][k].update(depth=rng.choice([100, 1000]), width=rng.choice([4096, 100_000]))
        return h
    return _with_header(s, edit)


# ---------- tables ----------

@mutation
def table_fields(rng, s):
    """kind, lo, n and escape weight of a TABL chunk rewritten."""
    idx = s.find(b"TABL")
    if not idx:
        return _fallback(rng, s)
    i = rng.choice(idx)
    d = s.chunks[i][1]
    lay = table_layout(d)
    if lay is None:
        return _fallback(rng, s)
    f = rng.randrange(4)
    if f == 0:
        d = bytes([rng.choice([0, 1, 2, 3, 255])]) + d[1:]
    elif f == 1:
        d = _splice(d, lay.fields[0], svarint(rng.choice([0, -1, 1, -(2**31), 2**31 - 1, 2**31 - 5, 2**40,
                                                          2**40 + 1, -(2**40) - 1, 2**62])))
    elif f == 2:
        d = _splice(d, lay.fields[1], uvarint(rng.choice([0, 1, 2, 4095, 4096, 4097, 65536, 65537, 2**32])))
    else:
        d = _splice(d, lay.fields[2], uvarint(rng.choice([0, 1, 2**24, 2**32 - 1, 2**32, 2**64 - 1])))
    s.chunks[i][1] = d
    return join(s)


@mutation
def table_weights(rng, s):
    """Histogram weights zeroed, maxed, made to overflow the frequency sum; log codes over 192."""
    idx = s.find(b"TABL")
    if not idx:
        return _fallback(rng, s)
    i = rng.choice(idx)
    d = s.chunks[i][1]
    lay = table_layout(d)
    if lay is None or lay.body[0] >= lay.body[1]:
        return _fallback(rng, s)
    if lay.kind == 0 and lay.weights:
        op = rng.randrange(4)
        if op == 0:   # all weights zero
            body = b"\x00" * len(lay.weights)
        elif op == 1:   # all weights at the maximum
            body = uvarint(2**32 - 1) * len(lay.weights)
        elif op == 2:
            w = rng.choice(lay.weights)
            d = _splice(d, w, uvarint(rng.choice([0, 1, 2**32 - 1, 2**32, 2**35, 2**64 - 1])))
            s.chunks[i][1] = d
            return join(s)
        else:   # one weight dominant, rest 1
            body = b"".join(uvarint(2**32 - 1 if k == 0 else 1) for k in range(len(lay.weights)))
        s.chunks[i][1] = d[:lay.body[0]] + body
    elif lay.kind == 1:
        b = bytearray(d)
        for _ in range(rng.randrange(1, 4)):
            b[rng.randrange(*lay.body)] = rng.choice([0, 1, 192, 193, 255])
        s.chunks[i][1] = bytes(b)
    else:
        b = bytearray(d)
        b[rng.randrange(*lay.body)] = rng.randrange(256)
        s.chunks[i][1] = bytes(b)
    return join(s)


@mutation
def table_alphabet(rng, s):
    """A table replaced by a wide one (alphabet near and over the caps, body consistent)."""
    idx = s.find(b"TABL")
    if not idx:
        return _fallback(rng, s)
    i = rng.choice(idx)
    n = rng.choice([1, 2, 255, 256, 4095, 4096, 4097, 65536])
    kind = rng.choice([0, 1, 2])
    lo = rng.choice([0, -n // 2, -(2**31), 2**31 - n, 2**31 - n + 1])
    body = {0: b"\x01" * n, 1: bytes([rng.randrange(1, 193) for _ in range(n)]),
            2: svarint(0) + struct.pack("<H", rng.randrange(65536))}[kind]
    s.chunks[i][1] = bytes([kind]) + svarint(lo) + uvarint(n) + uvarint(rng.choice([0, 1, 100])) + body
    return join(s)


# ---------- TENS payloads ----------

@mutation
def payload_floats(rng, s):
    """Steps or decoder parameters set to NaN, Inf, 0, subnormal, huge."""
    cands = [(i, lay) for i, _, lay in _payloads(s) if lay.floats and lay.floats[1] > lay.floats[0]]
    if not cands:
        return _fallback(rng, s)
    i, lay = rng.choice(cands)
    d = bytearray(s.chunks[i][1])
    for _ in range(rng.randrange(1, 3)):
        k = rng.randrange(lay.floats[0], lay.floats[1], 4)
        d[k:k + 4] = struct.pack("<f", rng.choice(F32_SPECIAL))
    s.chunks[i][1] = bytes(d)
    return join(s)


@mutation
def payload_index(rng, s):
    idx = s.find(b"TENS")
    if not idx:
        return _fallback(rng, s)
    i = rng.choice(idx)
    d = s.chunks[i][1]
    from .container import read_uvarint
    _, p = read_uvarint(d, 0)
    new = rng.choice([uvarint(_varint_edit(rng)), b"\x80\x00", b"\x80", uvarint(len(idx))])
    s.chunks[i][1] = new + d[p:]
    return join(s)


@mutation
def segment_counts(rng, s):
    """n_symbols / n_words / n_escape_bytes of one segment rewritten (incl. overlong varints)."""
    cands = [(i, seg) for i, _, lay in _payloads(s) for _, segs in lay.lists for seg in segs]
    if not cands:
        return _fallback(rng, s)
    i, seg = rng.choice(cands)
    f = seg.fields[rng.randrange(3)]
    d = s.chunks[i][1]
    old = d[f[0]:f[1]]
    from .container import read_uvarint
    v, _ = read_uvarint(old, 0)
    new = rng.choice([uvarint(v + 1), uvarint(max(v - 1, 0)), uvarint(0), uvarint(_varint_edit(rng)),
                      old[:-1] + bytes([old[-1] | 0x80]) + b"\x00", b"\xff" * 11])
    s.chunks[i][1] = _splice(d, f, new)
    return join(s)


@mutation
def segment_list(rng, s):
    """n_segments edited; a segment dropped, duplicated or moved to another list."""
    cands = [(i, start, segs) for i, _, lay in _payloads(s) for start, segs in lay.lists]
    if not cands:
        return _fallback(rng, s)
    i, start, segs = rng.choice(cands)
    d = s.chunks[i][1]
    from .container import read_uvarint
    n, p = read_uvarint(d, start)
    end = segs[-1].escapes[1] if segs else p
    blobs = [d[a.start:(segs[k + 1].start if k + 1 < len(segs) else end)] for k, a in enumerate(segs)]
    op = rng.randrange(4)
    if op == 0:
        n = rng.choice([0, n + 1, max(n - 1, 0), 1 << 16, (1 << 16) + 1, _varint_edit(rng)])
    elif op == 1 and blobs:
        del blobs[rng.randrange(len(blobs))]
        n = len(blobs) if rng.random() < 0.7 else n
    elif op == 2 and blobs:
        blobs.insert(rng.randrange(len(blobs) + 1), rng.choice(blobs))
        n = len(blobs) if rng.random() < 0.7 else n
    elif blobs:
        rng.shuffle(blobs)
    s.chunks[i][1] = d[:start] + uvarint(n) + b"".join(blobs) + d[end:]
    return join(s)


@mutation
def segment_words(rng, s):
    """Single-bit flips inside the ANS words (last word especially: the end-of-data rule) or escapes."""
    cands = [(i, seg) for i, _, lay in _payloads(s) for _, segs in lay.lists for seg in segs
             if seg.words[1] > seg.words[0] or seg.escapes[1] > seg.escapes[0]]
    if not cands:
        return _fallback(rng, s)
    i, seg = rng.choice(cands)
    span = seg.words if seg.words[1] > seg.words[0] and (rng.random() < 0.8 or seg.escapes[1] == seg.escapes[0]) \
        else seg.escapes
    d = bytearray(s.chunks[i][1])
    lo = max(span[0], span[1] - 8) if rng.random() < 0.5 else span[0]
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        k = rng.randrange(lo, span[1])
        d[k] ^= 1 << rng.randrange(8)
    s.chunks[i][1] = bytes(d)
    return join(s)


@mutation
def payload_bitflip(rng, s):
    """Random bit flips anywhere in a TENS or TABL payload (CRC repaired)."""
    idx = [i for i, (t, d) in enumerate(s.chunks) if t in (b"TENS", b"TABL") and d]
    if not idx:
        idx = [i for i, (t, d) in enumerate(s.chunks) if d]
    i = rng.choice(idx)
    d = bytearray(s.chunks[i][1])
    for _ in range(rng.choice([1, 1, 2, 4, 8])):
        k = rng.randrange(len(d))
        d[k] ^= 1 << rng.randrange(8)
    s.chunks[i][1] = bytes(d)
    return join(s)


@mutation
def payload_resize(rng, s):
    """A TENS/TABL payload truncated or extended (zeros, random bytes, a copy of itself)."""
    idx = [i for i, (t, _) in enumerate(s.chunks) if t in (b"TENS", b"TABL")]
    if not idx:
        return join(s)
    i = rng.choice(idx)
    d = s.chunks[i][1]
    op = rng.randrange(4)
    if op == 0:
        d = d[:rng.randrange(len(d) + 1)]
    elif op == 1:
        d = d[:-1]
    elif op == 2:
        d = d + bytes(rng.choice([1, 4, 100]))
    else:
        d = d + (d if rng.random() < 0.5 else bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
    s.chunks[i][1] = d
    return join(s)


# ---------- chunks, framing, version ----------

@mutation
def chunk_order(rng, s):
    """Chunks reordered, duplicated, dropped; an unknown critical or ancillary chunk inserted."""
    body = s.chunks[:-1]
    op = rng.randrange(5)
    if op == 0 and len(body) > 1:
        i, j = rng.sample(range(len(body)), 2)
        body[i], body[j] = body[j], body[i]
    elif op == 1 and body:
        body.insert(rng.randrange(len(body) + 1), list(rng.choice(body)))
    elif op == 2 and body:
        del body[rng.randrange(len(body))]
    elif op == 3:
        body.insert(rng.randrange(len(body) + 1), [rng.choice([b"XTRA", b"Tens", b"HEAD", b"BASE", b"ZHDR"]),
                                                   bytes(rng.randrange(40))])
    else:
        body.insert(rng.randrange(len(body) + 1), [rng.choice([b"note", b"zzzz", b"tEXt"]),
                                                   rng.choice([b"", b"\xff\xfe", b"hello", bytes(1000)])])
    s.chunks = body + s.chunks[-1:]
    return join(s)


@mutation
def framing(rng, s):
    """Bytes after NEND, data in NEND, no NEND, bad chunk type letters, magic damage, raw corruption
    (CRC not repaired: must be a ChecksumError)."""
    op = rng.randrange(6)
    if op == 0:
        s.tail = rng.choice([b"\x00", b"x" * 7, bytes(100), join(s.copy())[12:]])
    elif op == 1:
        s.chunks[-1][1] = b"\x00"
    elif op == 2:
        s.chunks = s.chunks[:-1]
    elif op == 3:
        i = rng.randrange(len(s.chunks))
        s.chunks[i][0] = rng.choice([b"HE4D", b"\x00\x00\x00\x00", b"head", b"TEN\xd3"])
    elif op == 4:
        s.magic = bytearray(s.magic)
        s.magic[rng.randrange(8)] ^= 1 << rng.randrange(8)
        s.magic = bytes(s.magic)
    else:
        b = bytearray(join(s))
        k = rng.randrange(12, len(b))
        b[k] ^= 1 << rng.randrange(8)
        return bytes(b)
    return join(s)


@mutation
def version(rng, s):
    s.version = (rng.choice([0, 1, 1, 1, 2, 65535]), rng.choice([0, 1, 2, 65535]))
    return join(s)


@functools.lru_cache(maxsize=64)
def _zflood(text: bytes, unit: bytes, reps: int) -> bytes:
    """ZHDR payload of ``text`` padded with ``reps`` copies of ``unit`` (``{},`` flood, spaces, or a nest of
    ``reps`` arrays); cached, since compressing 64 MB takes a while."""
    if unit == b"{},":
        body = text[:-1] + b',"flood":[' + unit * reps + b"{}]}"
    elif unit == b"[":
        body = text[:-1] + b',"deep":' + b"[" * reps + b"]" * reps + b"}"
    else:
        body = text + unit * reps
    return uvarint(len(body)) + zlib.compress(body, 6)


@mutation
def zhdr_bomb(rng, s):
    """The header re-compressed as ZHDR: padded by a flood (`{},{},…`, spaces, deep arrays), a wrong declared
    length, or zlib trailers and second streams."""
    text = header_text(s)
    if text is None:
        return join(s)
    i = s.header_index()
    op = rng.randrange(5)
    if op == 0:
        data = _zflood(text, b"{},", rng.choice([1000, 100_000, (1 << 26) // 3 - 40]))
    elif op == 1:
        data = _zflood(text, b" ", rng.choice([10, 1 << 20, (1 << 26) - len(text), 1 << 26]))
    elif op == 2:
        n = rng.choice([0, len(text) - 1, len(text) + 1, 1 << 26, (1 << 26) + 1, 2**63])
        data = uvarint(n) + zlib.compress(text, 9)
    elif op == 3:
        z = zlib.compress(text, 9)
        data = uvarint(len(text)) + rng.choice([z + b"\x00", z + z, z[:-1], z[:len(z) // 2],
                                                zlib.compress(text, 0)])
    else:
        data = _zflood(text, b"[", rng.choice([33, 10_000, 1 << 20]))
    s.chunks[i] = [b"ZHDR", data]
    if rng.random() < 0.8:
        s.version = (1, 1)
    return join(s)


@mutation
def stacked(rng, s):
    """Two or three of the other mutations in a row."""
    data = join(s)
    from .container import split
    for _ in range(rng.choice([2, 3])):
        name = rng.choice([n for n in MUTATIONS if n not in ("stacked", "framing", "version", "zhdr_bomb")])
        try:
            data = MUTATIONS[name](rng, split(data))
        except Exception:   # a mutant the walker cannot split again stays as it is
            break
    return data


def mutate(name: str, rng: random.Random, s: Stream) -> bytes:
    """The mutant of class ``name`` (falls back to a bit flip if the class finds nothing to edit)."""
    try:
        return MUTATIONS[name](rng, s.copy())
    except (KeyError, IndexError, ValueError, TypeError, AttributeError, RecursionError):
        return payload_bitflip(rng, s.copy())


# ---------- layered streams (format 1.4, FORMAT.md 6.19) ----------

def _level_ends(s: Stream) -> list[int]:
    """Byte offsets just past each LEVL chunk of the joined stream (the level boundaries)."""
    pos, out = 12, []
    for t, d in s.chunks:
        pos += 12 + len(d)
        if t == b"LEVL":
            out.append(pos)
    return out


@mutation
def level_prefix(rng, s):
    """A prefix: at a level boundary, one byte either side of it, inside a chunk, or NEND dropped (layered
    streams); a plain stream is cut anywhere."""
    data, ends = join(s), _level_ends(s)
    if not ends:
        return data[:rng.randrange(12, len(data))]
    k = rng.choice(ends)
    op = rng.randrange(5)
    if op == 0:
        return data[:k]
    if op in (1, 2):
        return data[:k + (1 if op == 1 else -1)]
    if op == 3:
        return data[:len(data) - 12] if s.chunks[-1][0] == b"NEND" else data[:k]
    return data[:rng.randrange(12, len(data))]


@mutation
def levl_json(rng, s):
    """A LEVL payload edited: level number, tables count, tensors list (entries dropped, duplicated, coding or
    factor changed), a level moved; a plain stream gets a stray LEVL chunk."""
    idx = s.find(b"LEVL")
    if not idx:
        s.chunks.insert(rng.randrange(1, len(s.chunks)), [b"LEVL", json.dumps({"level": rng.choice([0, 1])}).encode()])
        return join(s)
    i = rng.choice(idx)
    op = rng.randrange(6)
    if op == 5:   # move a whole LEVL chunk elsewhere
        c = s.chunks.pop(i)
        s.chunks.insert(rng.randrange(1, len(s.chunks)), c)
        return join(s)
    lv = json.loads(s.chunks[i][1])
    tens = lv.get("tensors") if isinstance(lv.get("tensors"), list) else []
    if op == 0:
        lv["level"] = rng.choice(SMALL_INTS + HUGE_INTS + ODD_VALUES[:4])
    elif op == 1:
        lv["tables"] = rng.choice(SMALL_INTS + HUGE_INTS + ODD_VALUES[:4])
    elif op == 2 and tens:
        j = rng.randrange(len(tens))
        tens.insert(j, tens[j]) if rng.random() < 0.5 else tens.pop(j)
    elif op == 3 and tens:
        e = rng.choice(tens)
        if isinstance(e, dict):
            key = rng.choice(["coding", "factor", "table", "axis", "shape", "name"])
            e[key] = rng.choice(["quant", "refine", "raw", "residual", 0, 1 << 16, (1 << 16) + 1, 2**40, -1, [3, 3],
                                 "x", None])
    else:
        lv[rng.choice(["tensors", "metrics", "level"])] = rng.choice(ODD_VALUES)
    s.chunks[i][1] = json.dumps(lv, separators=(",", ":")).encode()
    return join(s)
