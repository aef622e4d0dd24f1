"""Receiver side of the transformer EPR benchmark, run in a fresh process: decode a ``.nwc`` stream
with :func:`nwcodec.decode`, load its tensors into a fresh float :class:`~benchmarks.bert_torch.TorchBert`
built from the base weights, and write the embeddings of given token lists.

Run: ``python -m benchmarks.bert_stream_eval STREAM BASE.safetensors CONFIG.json TOKENS.json OUT.npz``.
``CONFIG.json`` holds :class:`~nwcodec.formats.bert_embed.BertConfig`'s fields, ``TOKENS.json``
``{"sets": {name: [[id, ...], ...]}}``; ``OUT.npz`` gets one ``[N, H]`` float64 array per set (``emb_<name>``) and the
decoded tensor names (every decoded tensor must be one of the model's: nothing is silently dropped).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import nwcodec


def main(argv: list[str]) -> None:
    stream, base, config, tokens, out = (Path(a) for a in argv)
    t0 = time.time()
    arrays = nwcodec.decode(stream.read_bytes())
    decode_s = time.time() - t0

    import torch

    torch.set_num_threads(1)
    from nwcodec.codec.load import load_state
    from nwcodec.formats.bert_embed import BertConfig
    from nwcodec.formats.safetensors import read_safetensors

    from .bert_torch import bert_from_arrays, embed_tokens

    model = bert_from_arrays(read_safetensors(base)[0], BertConfig(**json.loads(config.read_text())))
    _, unexpected = load_state(model, arrays, strict=False)
    if unexpected:
        raise SystemExit(f"decoded tensors not in the model: {unexpected[:5]}")
    sets = json.loads(tokens.read_text())["sets"]
    result = {f"emb_{name}": embed_tokens(model.eval(), lists) for name, lists in sets.items()}
    np.savez(out, names=np.array(sorted(arrays)), decode_seconds=np.array(decode_s), **result)


if __name__ == "__main__":
    main(sys.argv[1:])
