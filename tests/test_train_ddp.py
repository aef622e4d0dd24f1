"""Two-process data-parallel training under torchrun (gloo on CPU) on the tiny synthetic set."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.ddp
def test_torchrun_two_processes(tmp_path: Path) -> None:
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}",
           "-m", "nwcodec.train.classify", str(REPO / "configs" / "mnist_tiny.yaml"), "--out-dir", str(out)]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["world_size"] == 2 and summary["replicas_in_sync"] is True
    assert summary["steps"] == 8  # 1024 samples / 2 ranks / batch 64, one epoch
    assert proc.stdout.count("test_error=") == 1  # only rank 0 reports
