"""The built wheel, installed with its base dependencies only (numpy + constriction, no torch), decodes the
conformance set from the CLI (to ``.npz``) and from Python, in fresh processes outside the repository.

Slow (a wheel build, a venv, a pip install); skipped cleanly when the wheel cannot be built or its
dependencies cannot be installed (no package index reachable).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nwcodec.codec.digest import tensor_digest
from nwcodec.formats.npz import read_npz
from nwcodec.formats.bf16 import bf16_bits_to_f32

REPO = Path(__file__).resolve().parents[1]
VECTORS = sorted((REPO / "bitstreams" / "conformance").glob("*.nwc"))
BY_SHA = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in VECTORS}

PY_DECODE = r"""
import hashlib, json, sys
from pathlib import Path
import nwcodec
from nwcodec.codec.digest import tensor_digest
vecs = sorted(Path(sys.argv[1]).glob("*.nwc"))
by_sha = {hashlib.sha256(p.read_bytes()).digest(): p for p in vecs}
out = {}
for p in vecs:
    data = p.read_bytes()
    want = nwcodec.parse(data).base_sha256
    base = None if want is None else by_sha[want].read_bytes()
    out[p.stem] = tensor_digest(nwcodec.decode(data, base=base))
try:
    import torch
    out["__torch__"] = True
except ImportError:
    out["__torch__"] = False
out["__file__"] = nwcodec.__file__
print(json.dumps(out))
"""


def _run(cmd: list, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run outside the repository, with no PYTHONPATH pointing back into it."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for d in ("nwcodec",):
        shutil.copytree(REPO / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    r = _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp / "dist",
              src], tmp)
    wheels = sorted((tmp / "dist").glob("nwcodec-*.whl"))
    if r.returncode or not wheels:
        pytest.skip(f"cannot build the wheel here: {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    r = _run([sys.executable, "-m", "venv", tmp / "venv"], tmp)
    if r.returncode:
        pytest.skip(f"cannot create a venv: {r.stderr.strip()[-200:]}")
    py = tmp / "venv" / "bin" / "python"
    r = _run([py, "-m", "pip", "install", "-q", "-c", REPO / "constraints.txt", wheels[0]], tmp, timeout=300)
    if r.returncode:
        pytest.skip(f"cannot install the base dependencies (offline?): {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return tmp


@pytest.mark.slow
def test_base_install_decodes_conformance_from_python(base_venv: Path) -> None:
    py = base_venv / "venv" / "bin" / "python"
    r = _run([py, "-c", PY_DECODE, REPO / "bitstreams" / "conformance"], base_venv)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got.pop("__torch__") is False, "the base install must not pull torch"
    assert str(base_venv / "venv") in got.pop("__file__")
    for p in VECTORS:
        assert got[p.stem] == p.with_suffix(".sha256").read_text().strip(), p.stem


@pytest.mark.slow
def test_base_install_cli_decodes_conformance_to_npz(base_venv: Path) -> None:
    cli = base_venv / "venv" / "bin" / "nwcodec"
    r = _run([cli, "--version"], base_venv)
    assert r.returncode == 0 and r.stdout.startswith("nwcodec ")
    for p in VECTORS:
        out = base_venv / f"{p.stem}.npz"
        cmd = [cli, "decode", p, out]
        from nwcodec import parse

        want = parse(p.read_bytes()).base_sha256
        if want is not None:
            cmd += ["--base", BY_SHA[want.hex()]]
        r = _run(cmd, base_venv)
        assert r.returncode == 0, (p.stem, r.stderr)
        arrays, dtypes = read_npz(out)
        arrays = {k: bf16_bits_to_f32(v) if dtypes[k] == "bfloat16" else v for k, v in arrays.items()}
        assert tensor_digest(arrays) == p.with_suffix(".sha256").read_text().strip(), p.stem
    r = _run([cli, "info", VECTORS[0]], base_venv)
    assert r.returncode == 0 and "bits/param" in r.stdout


@pytest.mark.slow
def test_base_install_names_the_missing_extra(base_venv: Path) -> None:
    cli = base_venv / "venv" / "bin" / "nwcodec"
    r = _run([cli, "decode", VECTORS[0], base_venv / "x.pt"], base_venv)
    assert r.returncode == 1 and not (base_venv / "x.pt").exists()
    assert r.stderr.strip() == ("nwcodec: error: needs nwcodec[torch] (torch is not installed): "
                                "pip install 'nwcodec[torch]'")
    r = _run([cli, "train", "nothing.yaml"], base_venv)
    assert r.returncode == 1 and "pip install 'nwcodec[" in r.stderr and len(r.stderr.strip().splitlines()) == 1


PKG_FILES = r"""
import json
from nwcodec import resources
print(json.dumps({"conformance": str(resources.conformance_dir()), "format": str(resources.format_spec()),
                  "configs": resources.list_configs()}))
"""


@pytest.mark.slow
def test_base_install_decodes_the_conformance_set_shipped_in_the_package(base_venv: Path) -> None:
    py = base_venv / "venv" / "bin" / "python"
    r = _run([py, "-c", PKG_FILES], base_venv)
    assert r.returncode == 0, r.stderr
    files = json.loads(r.stdout)
    shipped = Path(files["conformance"])
    assert str(base_venv / "venv") in str(shipped) and not shipped.is_symlink()
    assert sorted(p.name for p in shipped.glob("*.nwc")) == [p.name for p in VECTORS]
    assert Path(files["format"]).read_bytes() == (REPO / "bitstreams" / "FORMAT.md").read_bytes()
    assert files["configs"] == sorted(p.stem for p in (REPO / "configs").glob("*.yaml"))
    r = _run([py, "-c", PY_DECODE, shipped], base_venv)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    for p in VECTORS:   # the repository's committed digests, decoded from the installed copies
        assert got[p.stem] == p.with_suffix(".sha256").read_text().strip(), p.stem
    cli = base_venv / "venv" / "bin" / "nwcodec"
    r = _run([cli, "configs"], base_venv)   # lists and copies configs without torch or yaml
    assert r.returncode == 0 and "mnist_tiny" in r.stdout and "scene_tiny" in r.stdout
    r = _run([cli, "configs", "copy", "mnist_tiny", base_venv], base_venv)
    assert r.returncode == 0 and (base_venv / "mnist_tiny.yaml").read_text() == \
        (REPO / "configs" / "mnist_tiny.yaml").read_text()


DATA = Path(os.environ.get("NWCODEC_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="module")
def full_venv(base_venv: Path) -> Path:
    """A second venv with ``nwcodec[all]`` (torch through the repository's CPU constraint)."""
    wheel = sorted((base_venv / "dist").glob("nwcodec-*.whl"))[0]
    venv = base_venv / "venv_all"
    r = _run([sys.executable, "-m", "venv", venv], base_venv)
    if r.returncode:
        pytest.skip(f"cannot create a venv: {r.stderr.strip()[-200:]}")
    r = _run([venv / "bin" / "python", "-m", "pip", "install", "-q", "-c", REPO / "constraints.txt",
              f"nwcodec[all] @ {wheel.as_uri()}"], base_venv, timeout=600)
    if r.returncode:
        pytest.skip(f"cannot install nwcodec[all] (offline?): {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return venv


@pytest.mark.slow
def test_full_install_runs_the_readme_tour_outside_the_repo(full_venv: Path, tmp_path: Path) -> None:
    if not (DATA / "models" / "mnist_cnn.pth").is_file():
        pytest.skip(f"no shared CNN under {DATA} (set NWCODEC_DATA)")
    cli = full_venv / "bin" / "nwcodec"

    def ok(*args: object, timeout: float = 120) -> str:
        r = _run([cli, *args], tmp_path, timeout=timeout)
        assert r.returncode == 0, (args, r.stderr[-2000:])
        return r.stdout

    pth = DATA / "models" / "mnist_cnn.pth"
    assert "bytes" in ok("encode", pth, "cnn.nwc", "--quality", 60)
    ok("decode", "cnn.nwc", "cnn.safetensors")
    ok("decode", "cnn.nwc", "cnn.npz")
    arrays, _ = read_npz(tmp_path / "cnn.npz")
    import torch

    ref = torch.load(pth, map_location="cpu", weights_only=True)
    assert set(arrays) == set(ref) and all(arrays[k].shape == tuple(ref[k].shape) for k in ref)
    assert "bits/param" in ok("info", "cnn.nwc")
    acc = json.loads(ok("eval", "cnn.nwc", "--dataset", DATA / "mnist.npz", "--arch", "mnist_cnn", "--json"))
    assert acc["accuracy"] > 98.0, acc   # the float CNN scores 99.05 %
    assert "mnist_tiny" in ok("configs")
    ok("configs", "copy", "mnist_tiny", "tiny.yaml")
    (tmp_path / "sub").mkdir()
    ok("train", "tiny.yaml", "--set", "max_steps=3", "--set", "out_dir=sub/run", timeout=180)
    assert (tmp_path / "sub" / "run").is_dir() and any((tmp_path / "sub" / "run").rglob("*.nwc"))
    r = _run([cli, "train", "tiny.yaml", "--set", "lr.latnt=1"], tmp_path)
    assert r.returncode == 1 and "lr.latnt: unknown key; did you mean 'latent'?" in r.stderr
