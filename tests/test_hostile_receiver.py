"""Issue 9's hostile streams, rebuilt from its description. Each must fail fast with a typed error in a
child process under a 3 GiB address space (``RLIMIT_AS``), where a bomb would show as a MemoryError, an
abort or a kill instead of being hidden by a roomy test machine.

Cases: three 65,536-entry tables; a 64 GiB declared tensor (``workers=1`` and default); a scene header
with depth 1000 / width 100000 (``decode_scene`` and ``decode_pack_scene``); a 65 KB ``ZHDR`` inflating
to ``{},{},…``; NaN/Inf steps and decoder parameters; trailing bytes and a wrong ``TENS`` index on the
parallel path; single-bit flips under ``f_0 = 1`` tables; a ``.pt`` file the CLI cannot read safely.
Plus what must still work: ``axis ≠ 0`` on the parallel path to its committed digest, and the largest
header the default limits allow decoding in well under a second.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VEC = ROOT / "bitstreams"
AS_LIMIT = 3 << 30
FAST_S = 3.0      # CPU seconds; the typed refusals take milliseconds


# ---------- stream builders (run in the child; stdlib + the fuzzer's chunk walker only) ----------

def _fz():
    from tests.fuzzlib import container
    return container


def _stream(chunks: list[tuple[bytes, bytes]], version=(1, 0)) -> bytes:
    c = _fz()
    return c.join(c.Stream(version, [[t, d] for t, d in chunks] + [[b"NEND", b""]]))


def _head(tensors: list[dict], tables: int, **extra) -> bytes:
    return json.dumps({"kind": extra.pop("kind", "weights"), "tensors": tensors, "tables": tables, **extra},
                      separators=(",", ":")).encode()


def _hist_table(n: int) -> bytes:
    c = _fz()
    return b"\x00" + c.svarint(0) + c.uvarint(n) + c.uvarint(1) + b"\x01" * n


def table_stall() -> bytes:
    """Three 65,536-entry tables (the old decoder spent 18-23 s building them)."""
    return _stream([(b"HEAD", _head([], 3))] + [(b"TABL", _hist_table(1 << 16))] * 3)


def bomb() -> bytes:
    """An ~82 KB stream declaring a 64 GiB float32 tensor (inside the old 2^19 elements per byte bound)."""
    t = {"name": "w", "shape": [1 << 14, 1 << 20], "dtype": "float32", "coding": "quant", "axis": None, "table": 0}
    return _stream([(b"HEAD", _head([t], 1)), (b"TABL", _hist_table(3)), (b"TENS", b"\x00"),
                    (b"note", b"x" * 82_000)])


def json_flood() -> bytes:
    """A ~65 KB ZHDR inflating to 64 MB of ``{},{},…``."""
    c = _fz()
    body = b'{"kind":"weights","tables":0,"tensors":[],"x":[' + b"{}," * ((1 << 26) // 3 - 40) + b"{}]}"
    return _stream([(b"ZHDR", c.uvarint(len(body)) + zlib.compress(body, 9))], version=(1, 1))


def json_max_legal() -> bytes:
    """The largest header the default limits admit (whitespace padded to max_json_bytes)."""
    from nwcodec.bitstream import DEFAULT_LIMITS
    c = _fz()
    body = _head([], 0)
    body += b" " * (DEFAULT_LIMITS.max_json_bytes - len(body))
    return _stream([(b"ZHDR", c.uvarint(len(body)) + zlib.compress(body, 6))], version=(1, 1))


def _edit_header(path: Path, edit) -> bytes:
    c = _fz()
    s = c.split(path.read_bytes())
    h = c.header(s)
    edit(h)
    c.set_header(s, h)
    return c.join(s)


def _huge_field(h: dict) -> None:
    for k in ("coarse", "fine"):
        if isinstance(h["scene"]["model"].get(k), dict):
            h["scene"]["model"][k].update(depth=1000, width=100_000)


def scene_huge_field() -> bytes:
    return _edit_header(VEC / "scenes" / "demo_scene.nwc", _huge_field)


def pack_huge_field() -> bytes:
    return _edit_header(VEC / "packs" / "scene_0.nwc", _huge_field)


def _set_floats(path: Path, tensor: int, value: float, offset: int = 0) -> bytes:
    """Float ``offset`` of the step / parameter block of TENS ``tensor`` set to ``value`` (CRC repaired)."""
    from tests.fuzzlib.layout import payload_layout
    c = _fz()
    s = c.split(path.read_bytes())
    i = s.find(b"TENS")[tensor]
    lay = payload_layout(c.header(s)["tensors"][tensor], s.chunks[i][1])
    d = bytearray(s.chunks[i][1])
    k = lay.floats[0] + 4 * offset
    d[k:k + 4] = struct.pack("<f", value)
    s.chunks[i][1] = bytes(d)
    return c.join(s)


def nan_step() -> bytes:
    return _set_floats(VEC / "conformance" / "per_channel.nwc", 0, float("nan"), 3)


def inf_step() -> bytes:
    return _set_floats(VEC / "conformance" / "per_tensor.nwc", 0, float("inf"))


def nan_param() -> bytes:
    return _set_floats(VEC / "conformance" / "latent_affine.nwc", 0, float("nan"), 1)


def inf_dct_step() -> bytes:
    return _set_floats(VEC / "conformance" / "dct.nwc", 0, -float("inf"))


def _large_parallel_tens(edit) -> bytes:
    c = _fz()
    s = c.split((VEC / "conformance" / "large_parallel.nwc").read_bytes())
    i = s.find(b"TENS")[0]
    s.chunks[i][1] = edit(s.chunks[i][1])
    return c.join(s)


def trailing_bytes_parallel() -> bytes:
    """A byte after the last field of the 4M-element tensor (the old parallel path skipped this check)."""
    return _large_parallel_tens(lambda d: d + b"\x00")


def wrong_index_parallel() -> bytes:
    """The 4M-element tensor's TENS index set to 1 (it is TENS 0)."""
    return _large_parallel_tens(lambda d: b"\x01" + d[1:])


def trailing_bytes_after_nend() -> bytes:
    return (VEC / "conformance" / "per_channel_axes.nwc").read_bytes() + b"\x00"


CASES = {  # name: (builder, decode call, expected error class)
    "table_stall": (table_stall, "decode1", "LimitExceededError"),
    "bomb_serial": (bomb, "decode1", "LimitExceededError"),
    "bomb_default": (bomb, "decode", "LimitExceededError"),
    "json_flood": (json_flood, "decode", "LimitExceededError"),
    "nan_step": (nan_step, "decode", "MalformedError"),
    "inf_step": (inf_step, "decode2", "MalformedError"),
    "nan_param": (nan_param, "decode", "MalformedError"),
    "inf_dct_step": (inf_dct_step, "decode", "MalformedError"),
    "trailing_bytes_parallel": (trailing_bytes_parallel, "decode2", "MalformedError"),
    "trailing_bytes_default": (trailing_bytes_parallel, "decode", "MalformedError"),
    "wrong_index_parallel": (wrong_index_parallel, "decode2", "MalformedError"),
    "trailing_bytes_after_nend": (trailing_bytes_after_nend, "decode2", "MalformedError"),
    "scene_huge_field": (scene_huge_field, "scene", "MalformedError"),
    "pack_huge_field": (pack_huge_field, "pack", "MalformedError"),
    "json_max_legal": (json_max_legal, "decode", "ok"),
}
SCENE_CASES = {"scene_huge_field", "pack_huge_field"}
HOSTILE = [n for n in CASES if CASES[n][2] != "ok"]   # the scene cases too: refused from the header

CHILD = r'''
import json, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.setrecursionlimit(10000)
import nwcodec
from nwcodec.errors import NwcodecError
import tests.test_hostile_receiver as t

def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

def call(how, data):
    base = open(t.VEC / "packs" / "base.nwc", "rb").read()
    if how == "decode1": return nwcodec.decode(data, workers=1)
    if how == "decode2": return nwcodec.decode(data, workers=2)
    if how == "decode": return nwcodec.decode(data)
    if how == "scene": return nwcodec.decode_scene(data)
    from nwcodec.scene.pack import decode_pack_scene
    return decode_pack_scene(base, data)

for name in sys.argv[1:]:
    make, how, _ = t.CASES[name]
    data = make()
    c0 = cpu()
    try:
        call(how, data)
        got = "ok"
    except NwcodecError as exc:
        got = type(exc).__name__
    except BaseException as exc:
        got = "untyped " + type(exc).__name__ + ": " + str(exc)[:200]
    print(json.dumps({{"name": name, "got": got, "cpu_s": cpu() - c0, "bytes": len(data)}}), flush=True)
'''


def _child(names: list[str], timeout: float = 300) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", CHILD.format(limit=AS_LIMIT), *names], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=timeout)
    res = {r["name"]: r for r in map(json.loads, out.stdout.splitlines())}
    res["_rc"], res["_stderr"] = out.returncode, out.stderr[-2000:]
    return res


@pytest.fixture(scope="module")
def results() -> dict:
    return _child(HOSTILE + ["json_max_legal"])   # one child process for every case


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_stream_fails_fast_with_a_typed_error(results: dict, name: str) -> None:
    assert results["_rc"] == 0, results["_stderr"]
    r = results[name]
    assert r["got"] == CASES[name][2], r
    assert r["cpu_s"] < FAST_S, r


def test_bomb_is_a_short_stream() -> None:
    assert 80_000 < len(bomb()) < 90_000 and 60_000 < len(json_flood()) < 70_000


def test_largest_legal_header_decodes_fast(results: dict) -> None:
    """A header of max_json_bytes (the default 2^24) is checked and parsed in well under a second
    (the old default 2^26 took up to 1.2 s CPU on this machine's loaded cores)."""
    r = results
    assert r["_rc"] == 0, r["_stderr"]
    assert r["json_max_legal"]["got"] == "ok" and r["json_max_legal"]["cpu_s"] < 1.0, r


def test_axis_1_on_the_parallel_path_matches_the_committed_digest() -> None:
    """The issue's wrong-axis parallel decode: the 4M-element ``axis: 1`` vector, decoded in a fresh
    process by default (parallel path) and on 2 workers, gives its committed digest."""
    code = ("import nwcodec, sys\nfrom nwcodec.codec.digest import tensor_digest\n"
            "d = open(sys.argv[1], 'rb').read()\n"
            "print(tensor_digest(nwcodec.decode(d)), tensor_digest(nwcodec.decode(d, workers=2)))")
    path = VEC / "conformance" / "large_parallel.nwc"
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    want = path.with_suffix(".sha256").read_text().split()[0]
    assert out.stdout.split() == [want, want], out.stderr[-1000:]


def test_end_of_data_flips_under_f0_one_are_caught() -> None:
    """Single-bit flips (CRC repaired) in the words of every segment coded under a table with ``f_0 = 1``,
    on whole streams through ``decode``: at most 8 % decode (the old end check let most through; measured 2 % on
    demo_scene alone, 6 % with the long segments of primitives_grid; the chunk CRC is the integrity check)."""
    import random

    import nwcodec
    from nwcodec.codec.levels_frame import is_layered
    from nwcodec.errors import BitstreamError
    from tests.fuzzlib.layout import payload_layout

    c = _fz()
    rng = random.Random(9)
    flips = passed = 0
    for path in sorted(VEC.glob("**/*.nwc")):   # f_0 = 1 tables: scenes/demo_scene
        if path.stat().st_size > 100_000 or "layered" in path.parts:   # layered: tests/test_layered_format.py
            continue
        data = path.read_bytes()
        if is_layered(data):   # later levels' TENS are listed in LEVL, not HEAD (6.19)
            continue
        base = {"residual_delta.nwc": VEC / "conformance" / "residual_base.nwc", "scene_0.nwc": VEC / "packs" / "base.nwc"}.get(path.name)
        base = base.read_bytes() if base else None
        ps, s = nwcodec.parse(data), c.split(data)
        h = c.header(s)
        for j, i in enumerate(s.find(b"TENS")):
            t = h["tensors"][j]
            if "table" not in t or int(ps.table(t["table"]).freqs[0]) != 1:
                continue
            for _, segs in payload_layout(t, s.chunks[i][1]).lists:
                for seg in segs:
                    nbits = 8 * (seg.words[1] - seg.words[0])
                    for bit in rng.sample(range(nbits), min(nbits, 24)):
                        m = s.copy()
                        d = bytearray(m.chunks[i][1])
                        d[seg.words[0] + bit // 8] ^= 1 << (bit % 8)
                        m.chunks[i][1] = bytes(d)
                        flips += 1
                        try:
                            nwcodec.decode(c.join(m), workers=1, base=base)
                            passed += 1
                        except BitstreamError:
                            pass
    assert flips >= 200, flips
    assert passed <= 0.08 * flips, (passed, flips)


class Evil:
    """A class a ``.pt`` pickles by reference: ``weights_only=True`` refuses it."""


def test_cli_bad_pt_gives_no_unsafe_advice(tmp_path: Path) -> None:
    """A ``.pt`` that ``weights_only=True`` refuses (it pickles a class): one typed line, exit 1, and no
    advice to retry with ``weights_only=False``."""
    import torch

    bad = tmp_path / "bad.pt"
    torch.save({"w": torch.ones(2), "x": Evil()}, bad)   # written here: one torch process fewer
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "nwcodec", "encode", str(bad), str(tmp_path / "o.nwc")], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120,
                         preexec_fn=lambda: __import__("resource").setrlimit(
                             __import__("resource").RLIMIT_AS, (AS_LIMIT, AS_LIMIT)))
    assert out.returncode == 1, out.stderr[-1000:]
    assert out.stderr.startswith("nwcodec: error:") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "weights_only=" not in out.stderr and "False" not in out.stderr, out.stderr
    assert not (tmp_path / "o.nwc").exists()


def test_wrong_kind_streams_are_bitstream_errors() -> None:
    """A weights stream given to ``decode_scene`` and a pack's base and scene swapped: every scene-decode
    failure is a BitstreamError (still an InputError, as before)."""
    import nwcodec
    from nwcodec.errors import BitstreamError, InputError
    from nwcodec.scene.pack import decode_pack_scene

    weights = (VEC / "conformance" / "per_tensor.nwc").read_bytes()
    base, scene = (VEC / "packs" / "base.nwc").read_bytes(), (VEC / "packs" / "scene_0.nwc").read_bytes()
    for call in (lambda: nwcodec.decode_scene(weights), lambda: decode_pack_scene(scene, base)):
        with pytest.raises(BitstreamError) as e:
            call()
        assert isinstance(e.value, InputError) and type(e.value).__name__ == "WrongKindError"
