"""Create (once) and validate the separate NNCodec 2.1.3 venv ``.venv-nncodec`` at the repo root.

NNCodec needs ``numpy<2`` and imports torchvision, so it lives beside the project venv, never in it
(../shared/FACTS.md, "Running NNCodec 2.1.3 beside nwcodec"). torch is pinned to the CPU build through a
constraints file, so pip can neither swap in a CUDA torch nor upgrade it. A stamp file makes this idempotent.

Run: ``python -m benchmarks.nncodec_env`` (prints the venv's python).
"""
from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-nncodec"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".stamp-nncodec-2.1.3"
NNCODEC = "nncodec==2.1.3"
# The project's own constraints (torch==2.13.0+cpu) plus numpy<2, which NNCodec requires.
CONSTRAINTS = ("torch==2.13.0+cpu", "numpy<2")


def _pip(*args: str) -> None:
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-c", str(VENV / "constraints.txt"), *args],
                   check=True)


def validate() -> bool:
    """True when the venv's nncodec imports (with the torchvision op-schema workaround) under the CPU torch."""
    if not PYTHON.is_file():
        return False
    code = ("import sys; sys.path.insert(0, %r); import nncodec_runner as r; r.import_nncodec(); "
            "import torch, numpy; assert torch.__version__.startswith('2.13.0'), torch.__version__; "
            "assert numpy.__version__ < '2', numpy.__version__") % str(Path(__file__).parent)
    return subprocess.run([str(PYTHON), "-c", code], capture_output=True).returncode == 0


def ensure() -> Path:
    """The venv's python, creating the venv when its stamp is missing; raises when it does not validate."""
    if not STAMP.is_file():
        if not PYTHON.is_file():
            venv.EnvBuilder(with_pip=True).create(VENV)
        (VENV / "constraints.txt").write_text("\n".join(CONSTRAINTS) + "\n")
        _pip("torch==2.13.0")
        _pip("numpy<2")
        _pip(NNCODEC)
        if not validate():
            raise RuntimeError(f"{VENV}: nncodec does not import; see FACTS.md's recipe")
        STAMP.write_text(NNCODEC + "\n")
    return PYTHON


if __name__ == "__main__":
    print(ensure())
    sys.exit(0)
