"""One-way layering, checked over the imports.

* The receiver (bitstream, entropy, decoders, codings and the codec decode path) imports neither
  torch nor the method/training/scene-field packages (``nwcodec.train``, ``nwcodec.reparam``,
  ``nwcodec.nerf``), not even lazily inside a function.
* The writer (``nwcodec.codec.encoder`` and everything it imports) never imports ``nwcodec.reparam``.

The first check is a static scan of every ``import`` statement (function bodies included) over the
transitive closure of the receiver's modules (``from pkg import submodule`` counts the submodule; parent
packages, which Python runs first anyway, are covered by the second check); the second decodes every
conformance vector in a fresh interpreter in which importing torch fails.
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "nwcodec"
RECEIVER_PACKAGES = ("nwcodec.bitstream", "nwcodec.entropy", "nwcodec.decoders", "nwcodec.codings")
RECEIVER_MODULES = ("nwcodec.codec.decoder", "nwcodec.codec.units", "nwcodec.codec.parallel", "nwcodec.codec.header",
                    "nwcodec.codec.head_chunk", "nwcodec.codec.digest", "nwcodec.codec.latent_spec")
RECEIVER_FORBIDDEN = ("torch", "nwcodec.train", "nwcodec.reparam", "nwcodec.nerf", "nwcodec.scene", "nwcodec.apps")
WRITER_FORBIDDEN = ("nwcodec.reparam", "nwcodec.train", "nwcodec.nerf")


def _file(module: str) -> Path | None:
    rel = Path(*module.split("."))
    for cand in (REPO / rel.with_suffix(".py"), REPO / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(module: str) -> set[str]:
    """Every module named by an import statement anywhere in ``module`` (relative ones resolved)."""
    path = _file(module)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            subs = {f"{base}.{a.name}" for a in node.names if _file(f"{base}.{a.name}")}
            out |= subs
            if len(subs) < len(node.names):   # some names come from the package itself
                out.add(base)
    return {m for m in out if m}


def _closure(roots: list[str]) -> dict[str, str]:
    """``{module: the module that first imported it}`` over nwcodec modules reachable from ``roots``."""
    seen = {r: "(root)" for r in roots}
    todo = list(roots)
    while todo:
        mod = todo.pop()
        if not mod.startswith("nwcodec") or _file(mod) is None:
            continue
        for dep in _imports(mod):
            if dep not in seen:
                seen[dep] = mod
                todo.append(dep)
    return seen


def _modules_under(package: str) -> list[str]:
    root = REPO / Path(*package.split("."))
    return [".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__") for p in root.rglob("*.py")]


def _violations(roots: list[str], forbidden: tuple[str, ...]) -> list[str]:
    found = _closure(roots)
    return sorted(f"{m} (imported by {by})" for m, by in found.items()
                  if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_scan_sees_imports() -> None:
    """The scanner itself: it must find a known lazy import (so an empty result means something)."""
    assert "nwcodec.reparam.stream" in _imports("nwcodec.handoff")
    assert "torch" in _imports("nwcodec.codec.sources")
    assert "nwcodec.decoders.affine" in _imports("nwcodec.decoders")


def test_receiver_never_imports_torch_or_the_method_layer() -> None:
    roots = [m for p in RECEIVER_PACKAGES for m in _modules_under(p)] + list(RECEIVER_MODULES)
    assert len(roots) > 20
    assert _violations(roots, RECEIVER_FORBIDDEN) == []


def test_writer_never_imports_reparam() -> None:
    found = _closure(["nwcodec.codec.encoder"])
    assert "nwcodec.entropy.choose" in found  # the scan did walk the writer
    assert _violations(["nwcodec.codec.encoder"], WRITER_FORBIDDEN) == []


BLOCK_TORCH = r'''
import hashlib, sys
from pathlib import Path

class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this receiver test")
        return None

sys.meta_path.insert(0, _NoTorch())
import nwcodec
from nwcodec.codec.digest import tensor_digest

vectors = sorted(Path(sys.argv[1]).glob("*.nwc"))
by_sha = {hashlib.sha256(p.read_bytes()).digest(): p.read_bytes() for p in vectors}
for p in vectors:
    data = p.read_bytes()
    want = nwcodec.parse(data).base_sha256
    arrays = nwcodec.decode(data, base=by_sha[want] if want else None, workers=1)
    assert tensor_digest(arrays) == p.with_suffix(".sha256").read_text().strip(), p.name
bad = sorted(m for m in sys.modules if m == "torch" or m.split(".")[0] == "torch"
             or m.startswith(("nwcodec.reparam", "nwcodec.train", "nwcodec.nerf")))
assert not bad, bad
print("decoded", len(vectors))
'''


def test_fresh_process_decodes_with_torch_blocked() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", BLOCK_TORCH, str(REPO / "bitstreams" / "conformance")],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("decoded ")


def test_library_never_imports_apps_or_the_cli() -> None:
    """No library module (anything under nwcodec/ but the CLI's own ``cli*.py`` files and ``__main__``) imports
    its applications (``nwcodec.apps``) or the CLI modules, not even lazily inside a function."""
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        if path.name.startswith("cli") or path.name == "__main__.py" or module.startswith("nwcodec.apps"):
            continue
        for dep in _imports(module):
            if dep.startswith(("nwcodec.apps", "nwcodec.cli", "apps")):
                bad.append(f"{module} imports {dep}")
    assert not bad, bad
