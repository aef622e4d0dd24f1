"""A child process that decodes mutants one per request and classifies each outcome.

Runs as ``python -m tests.fuzzlib.worker`` under ``RLIMIT_AS`` (3 GiB by default, set before nwcodec
is imported). Protocol: one JSON request per stdin line ``{"id", "data" (base64), "mode", "base"}``, one
JSON reply per stdout line ``{"id", "outcome", "error", "cpu_s", "stage"}``. ``mode`` is ``weights``,
``scene`` (also ``decode_scene``) or ``pack`` (``decode_pack_scene`` on the base file ``base``).

Outcomes: ``ok`` · ``typed`` (a ``nwcodec.errors.NwcodecError``) · ``untyped`` (any other exception) ·
``memory`` (``MemoryError``) · ``disagree`` (serial and parallel decoding differ) · ``slow`` (one receiver call
over the CPU budget, its children included). A dead worker (signal) is classified by the runner as ``crash``.
"""
from __future__ import annotations

import base64
import json
import os
import resource
import sys
import time

MEM_LIMIT = int(os.environ.get("NWC_FUZZ_AS", 3 << 30))
SLOW_S = float(os.environ.get("NWC_FUZZ_SLOW_S", 1.0))


def _cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Decoder:
    """Decodes one mutant every way the receiver can: parse, serial, parallel, scene model."""

    def __init__(self) -> None:
        import nwcodec
        from nwcodec.codec.digest import tensor_digest
        from nwcodec.errors import BitstreamError, NwcodecError

        self.nw, self.digest, self.typed, self.stream_err = nwcodec, tensor_digest, NwcodecError, BitstreamError
        self.bases: dict[str, bytes] = {}

    def base(self, path: str | None) -> bytes | None:
        if path and path not in self.bases:
            with open(path, "rb") as f:
                self.bases[path] = f.read()
        return self.bases.get(path) if path else None

    def timed(self, fn, *args, **kw):
        """``fn(*args, **kw)``, keeping the largest CPU time (children included) of one receiver call."""
        t0 = _cpu()
        try:
            return fn(*args, **kw)
        finally:
            self.max_cpu = max(self.max_cpu, _cpu() - t0)

    def run(self, data: bytes, mode: str, base_path: str | None) -> tuple[str, str, str]:
        """(outcome, error text, stage)."""
        base = self.base(base_path)
        stage = "parse"
        self.max_cpu = 0.0
        try:
            try:
                self.timed(self.nw.parse, data)
            except self.typed:
                if b"LEVL" not in data:   # a layered prefix (no NEND) is refused by parse, decoded by decode
                    raise
            stage = "serial"
            try:
                serial = self.digest(self.timed(self.nw.decode, data, workers=1, base=base))
            except self.typed as exc:
                serial = exc
            stage = "parallel"
            try:
                parallel = self.digest(self.timed(self.nw.decode, data, workers=2, base=base))
            except self.typed as exc:
                parallel = exc
            if isinstance(serial, str) != isinstance(parallel, str) or (isinstance(serial, str) and serial != parallel):
                return "disagree", f"serial {_short(serial)} vs parallel {_short(parallel)}", stage
            if b"LEVL" in data:   # layered (FORMAT.md 6.19): each level a prefix or cut stream holds
                stage = "levels"
                for k in range(4):
                    try:
                        self.timed(self.nw.decode, data, level=k, base=base)
                    except self.typed:
                        break
            if not isinstance(serial, str):
                raise serial
            if mode in ("scene", "pack"):
                stage = "scene"
                print(json.dumps({"stage": stage}), flush=True)   # so a timeout here can be attributed
                if mode == "scene":
                    self.timed(self.nw.decode_scene, data)
                else:
                    from nwcodec.scene.pack import decode_pack_scene
                    self.timed(decode_pack_scene, base, data)
            return "ok", "", stage
        except self.typed as exc:
            if stage == "scene" and not isinstance(exc, self.stream_err):   # scene faults are stream faults
                return "untyped", f"{type(exc).__name__} (not a BitstreamError): {exc}"[:300], stage
            return "typed", type(exc).__name__, stage
        except MemoryError as exc:
            return "memory", f"MemoryError: {exc}"[:300], stage
        except Exception as exc:   # the fuzzer exists to find these
            return "untyped", f"{type(exc).__name__}: {exc}"[:300], stage


def _short(x) -> str:
    return x[:12] if isinstance(x, str) else type(x).__name__


def main() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    sys.setrecursionlimit(10_000)
    dec = Decoder()
    if os.environ.get("NWC_FUZZ_TORCH"):
        import nwcodec.nerf.model  # noqa: F401  (imported once, not per scene mutant)
    out = sys.stdout
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        data = base64.b64decode(req["data"])
        w0 = time.perf_counter()
        outcome, err, stage = dec.run(data, req.get("mode", "weights"), req.get("base"))
        cpu = dec.max_cpu
        if outcome in ("ok", "typed") and cpu > SLOW_S:
            outcome, err = "slow", f"{err} after {cpu:.2f} s CPU"
        print(json.dumps({"id": req["id"], "outcome": outcome, "error": err, "stage": stage, "cpu_s": round(cpu, 4),
                          "wall_s": round(time.perf_counter() - w0, 4)}), file=out, flush=True)


if __name__ == "__main__":
    main()
