"""Drive mutants through a pool of resource-limited worker processes and count outcomes per class.

Each worker (:mod:`tests.fuzzlib.worker`) is a fresh ``python`` under ``RLIMIT_AS``; a worker that dies is
a ``crash`` (its signal recorded) and one that does not answer within the hard wall limit is killed and
counted as ``timeout``; both are replaced. Mutants are deterministic in the seed.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import random
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .container import split
from .mutate import MUTATIONS, mutate

ROOT = Path(__file__).resolve().parents[2]
FAILURES = ("untyped", "crash", "slow", "timeout", "memory", "disagree")
@dataclass(frozen=True)
class Vector:
    name: str
    path: Path
    mode: str                  # weights | scene | pack
    base: Path | None = None


def vectors() -> list[Vector]:
    """Every committed stream under bitstreams/ (conformance, scene, pack), with its decode mode."""
    out = []
    for p in sorted((ROOT / "bitstreams").glob("**/*.nwc")):
        rel = p.relative_to(ROOT / "bitstreams")
        if rel.parts[0] == "packs":
            mode, base = ("pack", p.parent / "base.nwc") if p.name != "base.nwc" else ("weights", None)
        elif rel.parts[0] == "scenes":
            mode, base = "scene", None
        else:
            mode, base = "weights", (p.parent / "residual_base.nwc" if p.name == "residual_delta.nwc" else None)
        out.append(Vector(str(rel.with_suffix("")), p, mode, base))
    return out


@dataclass
class Case:
    id: int
    vector: Vector
    mutation: str
    seed: int
    data: bytes


def cases(n: int, seed: int, vecs: list[Vector] | None = None, weights: dict[str, float] | None = None):
    """``n`` mutants, round-robin over mutation classes, vectors drawn by weight (default 1, big ones less)."""
    vecs = vecs or vectors()
    parsed = {v.name: split(v.path.read_bytes()) for v in vecs}
    w = [(weights or {}).get(v.name, 0.05 if v.path.stat().st_size > 100_000 else 1.0) for v in vecs]
    names = sorted(MUTATIONS)
    rng = random.Random(seed)
    for i in range(n):
        v = rng.choices(vecs, w)[0]
        m = names[i % len(names)]
        s = rng.randrange(1 << 62)
        yield Case(i, v, m, s, mutate(m, random.Random(s), parsed[v.name]))


def grid_cases(rounds: int, seed: int, big_rounds: int = 1, vecs: list[Vector] | None = None,
               big_classes: int | None = None):
    """Every (vector, mutation class) pair ``rounds`` times (``big_rounds`` for vectors over 100 KB, on a
    seeded sample of ``big_classes`` classes when given); a generator, so workers start at once."""
    vecs = vecs or vectors()
    names = sorted(MUTATIONS)
    rng = random.Random(seed)
    i = 0
    for v in vecs:
        s = split(v.path.read_bytes())
        big = v.path.stat().st_size > 100_000
        pool = rng.sample(names, big_classes) if big and big_classes else names
        for r in range(big_rounds if big else rounds):
            for m in pool:
                k = rng.randrange(1 << 62)
                yield Case(i, v, m, k, mutate(m, random.Random(k), s))
                i += 1


class Worker:
    def __init__(self, env: dict) -> None:
        self.env = env
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.fuzzlib.worker"], cwd=ROOT, env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self._buf = b""
        line = self._read(120)
        if not line or not json.loads(line).get("ready"):
            raise RuntimeError("fuzz worker did not start")

    def _read(self, timeout: float) -> str | None:
        """The next reply line ('' when the worker closed its stdout, None after ``timeout`` s). Reads the raw
        pipe into its own buffer: with a buffered reader, ``select`` would not see a second line that one read
        already pulled in (a stage line + its answer), and the answer would count as a timeout."""
        deadline, fd = time.monotonic() + timeout, self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            r, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
            if not r:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                line, self._buf = self._buf, b""
                return line.decode(errors="replace")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace") + "\n"

    def cpu(self) -> float:
        """CPU seconds the worker and its reaped children have used (Linux /proc; 0 elsewhere)."""
        try:
            f = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
            return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def ask(self, case: Case, hard_s: float) -> dict:
        req = {"id": case.id, "data": base64.b64encode(case.data).decode(), "mode": case.vector.mode,
               "base": str(case.vector.base) if case.vector.base else None}
        stage = ""
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            deadline, cpu0, waited = time.monotonic() + hard_s, self.cpu(), 0
            while True:
                line = self._read(max(deadline - time.monotonic(), 0))
                if line is None and waited < 9 and self.cpu() - cpu0 < hard_s / 3:
                    # a starved worker (niced on a loaded machine) gets more wall time; a busy one does not
                    deadline, waited = time.monotonic() + hard_s, waited + 1
                    continue
                if not line or "outcome" in (msg := json.loads(line)):
                    break
                stage = msg.get("stage", stage)
        except (BrokenPipeError, OSError):
            line = ""
        if line:
            return json.loads(line)
        if line is None:   # no answer in time
            self.proc.kill()
            self.proc.wait()
            res = {"outcome": "timeout", "error": f"no answer in {hard_s} s (killed)", "stage": stage}
        else:
            rc = self.proc.wait()
            sig = -rc if rc < 0 else None
            res = {"outcome": "crash", "error": f"worker died: {signal.Signals(sig).name if sig else f'exit {rc}'}",
                   "stage": stage}
        self.start()
        return res

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Report:
    counts: dict = field(default_factory=lambda: defaultdict(Counter))   # mutation -> outcome -> n
    errors: dict = field(default_factory=lambda: defaultdict(Counter))   # mutation -> typed error -> n
    failures: list = field(default_factory=list)                         # one dict per failing case
    max_cpu_s: float = 0.0
    n: int = 0

    def add(self, case: Case, res: dict) -> None:
        o = res["outcome"]
        self.n += 1
        self.counts[case.mutation][o] += 1
        if o == "typed":
            self.errors[case.mutation][res["error"]] += 1
        self.max_cpu_s = max(self.max_cpu_s, res.get("cpu_s", 0.0))
        if o in FAILURES:
            self.failures.append({"id": case.id, "vector": case.vector.name, "mode": case.vector.mode,
                                  "mutation": case.mutation, "seed": case.seed, "outcome": o,
                                  "error": res.get("error", ""), "stage": res.get("stage", ""),
                                  "sha256": hashlib.sha256(case.data).hexdigest(), "data": case.data})

    def totals(self) -> Counter:
        t = Counter()
        for c in self.counts.values():
            t.update(c)
        return t


def run(case_iter, workers: int = 2, hard_s: float = 30.0, mem_limit: int = 3 << 30, slow_s: float = 1.0,
        progress=None, torch: bool = True) -> Report:
    """Run every case on ``workers`` worker processes; returns the per-class report. ``torch``: import the
    scene model once per worker (needed by scene and pack vectors)."""
    case_list = case_iter if isinstance(case_iter, list) else None
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               NWC_FUZZ_AS=str(mem_limit), NWC_FUZZ_SLOW_S=str(slow_s))
    if torch:
        env["NWC_FUZZ_TORCH"] = "1"
    jobs: queue.Queue = queue.Queue(maxsize=64)
    report, lock = Report(), threading.Lock()

    def loop() -> None:
        w = Worker(env)
        try:
            while (case := jobs.get()) is not None:
                res = w.ask(case, hard_s)
                with lock:
                    report.add(case, res)
                    if progress and report.n % 1000 == 0:
                        progress(report)
        finally:
            w.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for case in (case_list if case_list is not None else case_iter):
        jobs.put(case)
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    return report


def replay(vector: str, mutation: str, seed: int) -> tuple[Vector, bytes]:
    """The mutant of one recorded failure (vector name, mutation class, seed), rebuilt."""
    v = next(x for x in vectors() if x.name == vector)
    return v, mutate(mutation, random.Random(seed), split(v.path.read_bytes()))
