"""A small torch BERT sentence encoder as ``nn.Module`` s (Hugging Face parameter names), for training.

Same computation as :func:`nwcodec.formats.bert_embed.encoder_forward` (post-LN encoder, erf GELU,
mean pooling over real tokens, L2 normalisation), but with ``nn.Linear`` / ``nn.Embedding`` /
``nn.LayerNorm`` modules so that :func:`nwcodec.reparam.reparameterize` can turn its weights into
latents. ``state_dict()`` keys are the checkpoint's (``encoder.layer.0.attention.self.query.weight``).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from nwcodec.formats.bert_embed import BertConfig


class SelfAttention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.query, self.key, self.value = (nn.Linear(c.hidden, c.hidden) for _ in range(3))


class DenseNorm(nn.Module):
    """``LayerNorm(residual + dense(x))`` (BERT's attention output and FFN output)."""

    def __init__(self, n_in: int, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(n_in, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, x: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(residual + self.dense(x))


class Attention(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseNorm(c.hidden, c)


class Intermediate(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden, c.intermediate)


class Layer(nn.Module):
    """One post-LN encoder layer: multi-head self-attention, then the GELU feed-forward block."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseNorm(c.intermediate, c)

    def forward(self, x: Tensor, bias: Tensor) -> Tensor:
        b, n, h = x.shape
        hd = h // self.heads
        sa = self.attention.self

        def split(t: Tensor) -> Tensor:
            return t.view(b, n, self.heads, hd).transpose(1, 2)

        q, k, v = split(sa.query(x)), split(sa.key(x)), split(sa.value(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, n, h)
        x = self.attention.output(ctx, x)
        return self.output(F.gelu(self.intermediate.dense(x)), x)


class Embeddings(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden)
        self.position_embeddings = nn.Embedding(c.max_positions, c.hidden)
        self.token_type_embeddings = nn.Embedding(c.type_vocab, c.hidden)
        self.LayerNorm = nn.LayerNorm(c.hidden, eps=c.eps)

    def forward(self, ids: Tensor) -> Tensor:
        x = (self.word_embeddings(ids) + self.position_embeddings.weight[: ids.shape[1]][None]
             + self.token_type_embeddings.weight[0])
        return self.LayerNorm(x)


class Encoder(nn.Module):
    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(Layer(c) for _ in range(c.layers))


class TorchBert(nn.Module):
    """``forward(ids, mask)`` -> L2-normalised mean-pooled sentence embeddings ``[B, H]``."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.cfg = c
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)

    def hidden_states(self, ids: Tensor, mask: Tensor) -> Tensor:
        x = self.embeddings(ids)
        bias = (1.0 - mask.to(x.dtype))[:, None, None, :] * torch.finfo(x.dtype).min
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return x

    def forward(self, ids: Tensor, mask: Tensor) -> Tensor:
        return pool(self.hidden_states(ids, mask), mask)


def pool(h: Tensor, mask: Tensor) -> Tensor:
    """Mean of the hidden states ``[B, L, H]`` over real tokens, L2-normalised: ``[B, H]``."""
    m = mask[..., None].to(h.dtype)
    return F.normalize((h * m).sum(1) / m.sum(1).clamp(min=1e-9), p=2, dim=1)


def bert_from_arrays(arrays: dict[str, np.ndarray], c: BertConfig) -> TorchBert:
    """A float32 :class:`TorchBert` holding ``arrays`` (checkpoint names; extra keys such as
    ``embeddings.position_ids`` are ignored, a missing one raises)."""
    model = TorchBert(c)
    own = model.state_dict()
    missing = [k for k in own if k not in arrays]
    if missing:
        raise KeyError(f"weights lack {missing[:3]}")
    model.load_state_dict({k: torch.from_numpy(np.array(arrays[k], dtype=np.float32)) for k in own})
    return model.eval()


def pad_batch(token_lists: list[list[int]]) -> tuple[Tensor, Tensor]:
    """Right-padded ``(ids, mask)`` int64 tensors of a list of token id lists."""
    n = max(len(t) for t in token_lists)
    ids = torch.zeros(len(token_lists), n, dtype=torch.int64)
    mask = torch.zeros(len(token_lists), n, dtype=torch.int64)
    for j, t in enumerate(token_lists):
        ids[j, : len(t)], mask[j, : len(t)] = torch.tensor(t), 1
    return ids, mask


@torch.no_grad()
def embed_tokens(model: nn.Module, token_lists: list[list[int]], batch: int = 32) -> np.ndarray:
    """Float64 embeddings of ``token_lists`` in batches (the model's current train/eval mode)."""
    out = [model(*pad_batch(token_lists[i:i + batch])).double().numpy() for i in range(0, len(token_lists), batch)]
    return np.concatenate(out)
