"""BERT's WordPiece tokenizer in pure python (the rules of Hugging Face's ``BertTokenizer``).

Basic step: drop control characters, space out CJK ideographs, lower-case and strip accents (uncased models),
split on whitespace and punctuation. WordPiece step: greedy longest match from the vocabulary, continuation
pieces prefixed ``##``; a word with no full cover becomes ``[UNK]``. Ids are framed by ``[CLS]`` ... ``[SEP]``.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

from ..errors import InputError

MAX_VOCAB_BYTES = 16 << 20
MAX_WORD_CHARS = 100                       # longer words become [UNK], as in BertTokenizer
SPECIAL = ("[UNK]", "[CLS]", "[SEP]", "[PAD]")
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def read_vocab(path: Path) -> dict[str, int]:
    """``vocab.txt``: one token a line, its id its line number."""
    if not path.is_file():
        raise InputError(f"{path.parent}: no vocab.txt (a BERT model directory needs one)")
    if path.stat().st_size > MAX_VOCAB_BYTES:
        raise InputError(f"{path}: vocabulary file is larger than {MAX_VOCAB_BYTES >> 20} MiB")
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError:
        raise InputError(f"{path}: vocabulary is not UTF-8 text") from None
    if lines and lines[-1] == "":
        lines.pop()
    vocab: dict[str, int] = {}
    for i, tok in enumerate(lines):
        vocab.setdefault(tok.rstrip("\r"), i)
    missing = [s for s in SPECIAL if s not in vocab]
    if missing:
        raise InputError(f"{path}: vocabulary lacks {', '.join(missing)}")
    return vocab


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 \
        or unicodedata.category(ch).startswith("P")


def _is_cjk(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def basic_tokens(text: str, lower_case: bool = True, strip_accents: bool | None = None) -> list[str]:
    """Words and punctuation marks of ``text`` (``strip_accents=None`` follows ``lower_case``)."""
    chars = []
    for ch in text:
        if ch in ("\x00", "\ufffd") or _is_control(ch):
            continue
        if _is_cjk(ch):
            chars.append(f" {ch} ")
        else:
            chars.append(" " if _is_whitespace(ch) else ch)
    text = unicodedata.normalize("NFC", "".join(chars))
    out: list[str] = []
    for word in text.split():
        if lower_case:
            word = word.lower()
        if strip_accents or (strip_accents is None and lower_case):
            word = _strip_accents(word)
        piece = ""
        for ch in word:
            if _is_punctuation(ch):
                out.extend([piece, ch] if piece else [ch])
                piece = ""
            else:
                piece += ch
        if piece:
            out.append(piece)
    return out


def wordpieces(word: str, vocab: dict[str, int]) -> list[str]:
    """Greedy longest-match-first pieces of one word, or ``["[UNK]"]`` when no cover exists."""
    if len(word) > MAX_WORD_CHARS:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in vocab:
                break
            end -= 1
        else:
            return ["[UNK]"]
        pieces.append(sub)
        start = end
    return pieces


class WordPieceTokenizer:
    """Text to token ids of a BERT vocabulary, ``[CLS] ... [SEP]``, cut to ``max_length`` ids."""

    def __init__(self, vocab: dict[str, int], lower_case: bool = True, strip_accents: bool | None = None,
                 max_length: int = 256) -> None:
        if max_length < 2:
            raise InputError(f"max_length {max_length} leaves no room for [CLS] and [SEP]")
        self.vocab, self.lower_case, self.strip_accents, self.max_length = vocab, lower_case, strip_accents, max_length

    def tokens(self, text: str) -> list[str]:
        """WordPiece tokens of ``text`` (no special tokens, not cut)."""
        return [p for w in basic_tokens(text, self.lower_case, self.strip_accents) for p in wordpieces(w, self.vocab)]

    def __call__(self, text: str) -> list[int]:
        ids = [self.vocab[t] for t in self.tokens(text)][: self.max_length - 2]
        return [self.vocab["[CLS]"], *ids, self.vocab["[SEP]"]]
