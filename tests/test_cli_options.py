"""CLI option validation (one line, exit 2), missing extras (one line, exit 1), SIGPIPE, --version, progress and
summary lines when piped, and the receiver-only commands in a process where torch cannot be imported."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nwcodec.cli import main

REPO = Path(__file__).resolve().parents[1]
VECTOR = REPO / "bitstreams" / "conformance" / "per_tensor.nwc"
NO_TORCH = "import sys; sys.modules['torch'] = None; sys.modules['safetensors'] = None; "


def _cli(args: list[str], no_torch: bool = False, **kw) -> subprocess.CompletedProcess:
    code = (NO_TORCH if no_torch else "") + "import sys; from nwcodec.cli import main; sys.exit(main(sys.argv[1:]))"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, **kw)


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    from nwcodec.formats import write_safetensors

    rng = np.random.default_rng(0)
    p = tmp_path / "m.safetensors"
    write_safetensors(p, {"w": rng.normal(size=(32, 48)).astype(np.float32), "b": np.zeros(32, np.float32)})
    return p


@pytest.mark.parametrize("opts, what", [
    (["--quality", "1000"], "--quality: must be ≤ 200"), (["--quality", "-5"], "--quality: must be > 0"),
    (["--quality", "nan"], "must be finite"), (["--rel-error", "0"], "--rel-error: must be > 0"),
    (["--rdo", "-1"], "--rdo: must be ≥ 0"), (["--target-size", "40 parsecs"], "--target-size: expected a size"),
    (["--target-size", "10"], "under 64 bytes"), (["--target-fidelity", "1.5"], "strictly between 0 and 1"),
    (["--target-fidelity", "loud"], "fidelity must be like 30dB"),
    (["--quality", "50", "--target-size", "40KB"], "not allowed with argument"),
    (["--row-classes", "1"], "--row-classes: must be ≥ 2"), (["--row-classes", "x"], "expected an integer")])
def test_bad_encode_options_exit_2_in_one_line(opts: list[str], what: str, model: Path, tmp_path: Path,
                                               capsys) -> None:
    assert main(["encode", str(model), str(tmp_path / "o.nwc"), *opts]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and what in err and err.startswith("nwcodec encode: error:")
    assert not (tmp_path / "o.nwc").exists()


@pytest.mark.parametrize("args", [["render", "x.nwc", "--out", "o", "--frames", "0"],
                                  ["render", "x.nwc", "--out", "o", "--size", "5"],
                                  ["decode", "x.nwc", "y.npz", "--workers", "0"], ["eval", "x.nwc", "--limit", "-3"],
                                  ["frobnicate"], []])
def test_other_usage_errors_exit_2(args: list[str], capsys) -> None:
    assert main(args) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_version(capsys) -> None:
    import nwcodec

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nwcodec {nwcodec.__version__}"


def test_bad_output_suffix_is_one_line_exit_1(tmp_path: Path, capsys) -> None:
    assert main(["decode", str(VECTOR), str(tmp_path / "o.txt")]) == 1
    assert capsys.readouterr().err.strip() == ("nwcodec: error: output must end in .safetensors, .npz, .pt, .pth, "
                                               "not '.txt'")


def test_receiver_commands_work_without_torch(tmp_path: Path, model: Path) -> None:
    r = _cli(["decode", str(VECTOR), str(tmp_path / "d.npz")], no_torch=True)
    assert r.returncode == 0 and "7 tensors" in r.stdout, r.stderr
    r = _cli(["info", str(VECTOR)], no_torch=True)
    assert r.returncode == 0 and "bits/param" in r.stdout
    r = _cli(["encode", str(model), str(tmp_path / "m.nwc")], no_torch=True)    # safetensors needs numpy only
    assert r.returncode == 0, r.stderr
    r = _cli(["eval", str(tmp_path / "m.nwc"), "--reference", str(model)], no_torch=True)
    assert r.returncode == 0 and "cosine 0.9" in r.stdout, r.stderr
    r = _cli(["decode", str(VECTOR), str(tmp_path / "d.pt")], no_torch=True)
    assert r.returncode == 1 and not (tmp_path / "d.pt").exists()
    assert r.stderr.strip() == "nwcodec: error: needs nwcodec[torch] (torch is not installed): pip install 'nwcodec[torch]'"


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "r.json").write_text('{"bytes": 1, "fidelity": 2}')
    code = ("import sys; sys.modules['matplotlib'] = None; from nwcodec.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "plot", str(tmp_path / "r.json"), "-o", str(tmp_path / "p.png")],
                       capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert r.returncode == 1 and r.stderr.strip().endswith("pip install 'nwcodec[scenes]'")


def test_sigpipe_is_quiet(tmp_path: Path) -> None:
    """``nwcodec info --json big | head -c 10``: the CLI ends as Unix tools do (killed by SIGPIPE), silently."""
    import signal

    big = {f"{'t' * 200}{i}": np.zeros(2, np.int8) for i in range(600)}   # ~200 KB of JSON: past the pipe buffer
    import nwcodec

    nwcodec.save_file(big, tmp_path / "big.nwc")
    p = subprocess.Popen([sys.executable, "-m", "nwcodec.cli", "info", "--json", str(tmp_path / "big.nwc")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(REPO)))
    head = p.stdout.read(10)
    p.stdout.close()
    err = p.stderr.read()
    p.wait(timeout=60)
    assert head == b'{\n "versio' and err == b"" and p.returncode == -signal.SIGPIPE


def test_piped_encode_prints_progress_and_a_summary(model: Path, tmp_path: Path) -> None:
    r = _cli(["encode", str(model), str(tmp_path / "m.nwc"), "--target-size", "2KB"])
    assert r.returncode == 0, r.stderr
    assert "try 1:" in r.stderr and "data-free allocation" in r.stderr
    assert r.stdout.strip().endswith(" s") and "bytes (data-free allocation" in r.stdout


def test_encode_dq_and_row_classes_flags_reach_the_stream(tmp_path: Path) -> None:
    """``--dq --row-classes 4`` writes ``dquant``/``rowclass`` tensors (format 1.5) that a fresh
    process decodes close to the original weights (known answer: the input file)."""
    import subprocess
    import sys

    from nwcodec.codec import parse
    from nwcodec.formats.safetensors import write_safetensors

    rng = np.random.default_rng(1)
    w = (rng.normal(size=(64, 96)) * np.linspace(0.2, 3.0, 64)[:, None]).astype(np.float32)
    src = tmp_path / "m.safetensors"
    write_safetensors(src, {"w": w})
    out = tmp_path / "o.nwc"
    assert main(["encode", str(src), str(out), "--quality", "30", "--dq", "--row-classes", "4"]) == 0
    ps = parse(out.read_bytes())
    assert ps.version >= (1, 5) and ps.tensors[0]["coding"] in ("dquant", "rowclass")
    dec = tmp_path / "d.npz"
    subprocess.run([sys.executable, "-m", "nwcodec", "decode", str(out), str(dec)], check=True, capture_output=True)
    got = np.load(dec)["w"]
    snr = 10 * np.log10(float((w.astype(np.float64) ** 2).sum()) / float(((got - w) ** 2).sum()))
    assert snr > 15, snr
