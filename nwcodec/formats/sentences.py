"""Sentence files for embedding evaluation: one sentence a line, bounded; ``builtin`` names the shipped set."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError

BUILTIN = Path(__file__).with_name("eval_sentences.txt")     # 50 varied English sentences (package data)
MAX_SENTENCES = 10_000
MAX_CHARS = 2_000
MAX_FILE_BYTES = 8 << 20


def read_sentences(spec: str) -> list[str]:
    """The non-blank lines of file ``spec`` (or of the built-in set for ``"builtin"``), each stripped."""
    p = BUILTIN if spec == "builtin" else Path(spec)
    if not p.is_file():
        raise InputError(f"no such sentences file: {p}")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{p}: sentences file is larger than {MAX_FILE_BYTES >> 20} MiB")
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{p}: sentences file is not UTF-8 text") from None
    out = []
    for i, line in enumerate(lines, 1):
        s = line.strip()
        if not s:
            continue
        if len(s) > MAX_CHARS:
            raise InputError(f"{p}:{i}: line is longer than {MAX_CHARS} characters")
        out.append(s)
        if len(out) > MAX_SENTENCES:
            raise InputError(f"{p}: more than {MAX_SENTENCES} sentences")
    if not out:
        raise InputError(f"{p}: no sentences (the file has no non-blank line)")
    return out
