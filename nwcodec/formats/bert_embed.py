"""Sentence embeddings of a BERT-family model (sender/eval side; needs ``nwcodec[torch]``, not ``transformers``).

The architecture, vocabulary and tokenizer settings come from a Hugging Face model directory (``config.json``
with ``model_type: "bert"``, ``vocab.txt``, optional ``tokenizer_config.json`` / ``sentence_bert_config.json``);
the weights are any dict of arrays under the usual names (e.g. decoded from a stream). The embedding follows
sentence-transformers' all-MiniLM-L6-v2: the post-LN encoder's last hidden states, mean-pooled over the real
tokens, then L2-normalized.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .wordpiece import WordPieceTokenizer, read_vocab

MAX_JSON_BYTES = 1 << 20
DEFAULT_MAX_LENGTH = 256                    # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
BATCH = 32
EMBEDDING_KEY = "embeddings.word_embeddings.weight"


@dataclass(frozen=True)
class BertConfig:
    """What the forward pass needs from ``config.json``."""

    vocab_size: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    max_positions: int
    type_vocab: int
    eps: float


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    if path.stat().st_size > MAX_JSON_BYTES:
        raise InputError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MiB")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise InputError(f"{path}: not valid JSON") from None
    if not isinstance(obj, dict):
        raise InputError(f"{path}: not a JSON object")
    return obj


def read_bert_config(d: Path) -> BertConfig:
    """The encoder shape of a BERT model directory; refused unless a plain BERT (absolute positions, erf GELU)."""
    if not d.is_dir():
        raise InputError(f"{d}: embedding evaluation needs the original Hugging Face model directory")
    cfg = _json(d / "config.json")
    if not cfg:
        raise InputError(f"{d}: no config.json (not a Hugging Face model directory)")
    if cfg.get("model_type") != "bert":
        raise InputError(f"{d}: model_type {cfg.get('model_type')!r} is not 'bert' (only BERT encoders are supported)")
    if cfg.get("hidden_act", "gelu") != "gelu":
        raise InputError(f"{d}: hidden_act {cfg.get('hidden_act')!r} is not supported (only 'gelu')")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise InputError(f"{d}: position_embedding_type {cfg.get('position_embedding_type')!r} is not supported")
    try:
        c = BertConfig(int(cfg["vocab_size"]), int(cfg["hidden_size"]), int(cfg["num_hidden_layers"]),
                       int(cfg["num_attention_heads"]), int(cfg["intermediate_size"]),
                       int(cfg.get("max_position_embeddings", 512)), int(cfg.get("type_vocab_size", 2)),
                       float(cfg.get("layer_norm_eps", 1e-12)))
    except KeyError as exc:
        raise InputError(f"{d}/config.json: lacks {exc.args[0]!r}") from None
    except (TypeError, ValueError):
        raise InputError(f"{d}/config.json: a size is not a number") from None
    if min(c.vocab_size, c.hidden, c.layers, c.heads, c.intermediate, c.max_positions, c.type_vocab) < 1 \
            or c.hidden % c.heads or not c.eps > 0:
        raise InputError(f"{d}/config.json: inconsistent sizes (hidden {c.hidden}, heads {c.heads})")
    return c


def read_tokenizer(d: Path, cfg: BertConfig) -> WordPieceTokenizer:
    """The tokenizer of a model directory: its vocab, casing and the sentence-transformers length limit."""
    vocab = read_vocab(d / "vocab.txt")
    tok, st = _json(d / "tokenizer_config.json"), _json(d / "sentence_bert_config.json")
    # sentence-transformers' do_lower_case only adds lower-casing (all-MiniLM-L6-v2 has it false, its tokenizer true)
    lower = bool(tok.get("do_lower_case", True)) or bool(st.get("do_lower_case", False))
    strip = tok.get("strip_accents")
    try:
        max_len = min(int(st.get("max_seq_length", DEFAULT_MAX_LENGTH)), cfg.max_positions)
    except (TypeError, ValueError):
        raise InputError(f"{d}/sentence_bert_config.json: max_seq_length is not a number") from None
    if max(vocab.values()) >= cfg.vocab_size:
        raise InputError(f"{d}: vocab.txt has {max(vocab.values()) + 1} tokens, "
                         f"config.json vocab_size {cfg.vocab_size}")
    return WordPieceTokenizer(vocab, lower, None if strip is None else bool(strip), max_len)


def _shapes(c: BertConfig) -> dict[str, tuple[int, ...]]:
    h, f = c.hidden, c.intermediate
    out = {"embeddings.word_embeddings.weight": (c.vocab_size, h),
           "embeddings.position_embeddings.weight": (c.max_positions, h),
           "embeddings.token_type_embeddings.weight": (c.type_vocab, h),
           "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,)}
    for i in range(c.layers):
        p = f"encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            out[p + name + ".weight"], out[p + name + ".bias"] = (h, h), (h,)
        out[p + "intermediate.dense.weight"], out[p + "intermediate.dense.bias"] = (f, h), (f,)
        out[p + "output.dense.weight"], out[p + "output.dense.bias"] = (h, f), (h,)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            out[p + ln + ".weight"], out[p + ln + ".bias"] = (h,), (h,)
    return out


def bert_weights(arrays: dict[str, np.ndarray], cfg: BertConfig, dtype: Any = None) -> dict[str, Any]:
    """The encoder's tensors (torch, ``dtype``) under prefix-free names, each checked against ``cfg``."""
    import torch

    dtype = dtype or torch.float32
    roots = [k[: -len(EMBEDDING_KEY)] for k in arrays if k.endswith(EMBEDDING_KEY)]
    if len(roots) != 1:
        raise InputError(f"the weights hold {len(roots)} tensors named '*{EMBEDDING_KEY}' (a BERT model has one)")
    prefix, out = roots[0], {}
    for name, shape in _shapes(cfg).items():
        a = arrays.get(prefix + name)
        if a is None and name.endswith("LayerNorm.weight"):
            a = arrays.get(prefix + name[: -len("weight")] + "gamma")
        if a is None and name.endswith("LayerNorm.bias"):
            a = arrays.get(prefix + name[: -len("bias")] + "beta")
        if a is None:
            raise InputError(f"the weights lack BERT tensor {prefix + name!r}")
        if tuple(a.shape) != shape or np.asarray(a).dtype.kind != "f":
            raise InputError(f"{prefix + name}: {a.dtype}{list(a.shape)} does not fit config.json "
                             f"(float{list(shape)})")
        out[name] = torch.from_numpy(np.asarray(a, dtype=np.float64)).to(dtype)
    return out


def encoder_forward(w: dict[str, Any], cfg: BertConfig, ids: Any, mask: Any) -> Any:
    """Last hidden states ``[B, L, H]`` of token ids ``[B, L]`` (int64) with attention mask ``[B, L]`` (0/1)."""
    import torch
    import torch.nn.functional as F

    def lin(x: Any, name: str) -> Any:
        return F.linear(x, w[name + ".weight"], w[name + ".bias"])

    def norm(x: Any, name: str) -> Any:
        return F.layer_norm(x, (cfg.hidden,), w[name + ".weight"], w[name + ".bias"], cfg.eps)

    b, n = ids.shape
    hd = cfg.hidden // cfg.heads
    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n][None]
         + w["embeddings.token_type_embeddings.weight"][0])
    x = norm(x, "embeddings.LayerNorm")
    bias = (1.0 - mask.to(x.dtype))[:, None, None, :] * torch.finfo(x.dtype).min

    def heads(t: Any) -> Any:
        return t.view(b, n, cfg.heads, hd).transpose(1, 2)

    for i in range(cfg.layers):
        p = f"encoder.layer.{i}."
        q, k, v = (heads(lin(x, p + "attention.self." + s)) for s in ("query", "key", "value"))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, n, cfg.hidden)
        x = norm(x + lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        ff = lin(F.gelu(lin(x, p + "intermediate.dense")), p + "output.dense")
        x = norm(x + ff, p + "output.LayerNorm")
    return x


class SentenceEmbedder:
    """Mean-pooled, L2-normalized sentence embeddings of a BERT model (architecture from a directory)."""

    def __init__(self, model_dir: str | Path, arrays: dict[str, np.ndarray], dtype: Any = None) -> None:
        from ..extras import require

        require("torch", "torch")
        d = Path(model_dir)
        self.cfg = read_bert_config(d)
        self.tokenizer = read_tokenizer(d, self.cfg)
        self.weights = bert_weights(arrays, self.cfg, dtype)

    def embed(self, sentences: list[str]) -> np.ndarray:
        """``[len(sentences), hidden]`` embeddings (float64 copies of the model dtype's values)."""
        import torch
        import torch.nn.functional as F

        ids = [self.tokenizer(s) for s in sentences]
        out = []
        with torch.no_grad():
            for i in range(0, len(ids), BATCH):
                chunk = ids[i:i + BATCH]
                n = max(len(t) for t in chunk)
                tok = torch.zeros(len(chunk), n, dtype=torch.int64)
                mask = torch.zeros(len(chunk), n, dtype=torch.int64)
                for j, t in enumerate(chunk):
                    tok[j, : len(t)], mask[j, : len(t)] = torch.tensor(t), 1
                h = encoder_forward(self.weights, self.cfg, tok, mask)
                m = mask[..., None].to(h.dtype)
                pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                out.append(F.normalize(pooled, p=2, dim=1).double().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.cfg.hidden))


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine of each pair of matching rows (1 where both rows are equal, 0 where one is zero and the other not)."""
    num = np.einsum("ij,ij->i", a, b)
    den = np.sqrt(np.einsum("ij,ij->i", a, a) * np.einsum("ij,ij->i", b, b))
    same = np.all(a == b, axis=1)
    return np.where(same, 1.0, np.divide(num, den, out=np.zeros_like(num), where=den > 0))
