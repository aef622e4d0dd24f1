"""``nwcodec eval``: score a decoded model.

* ``--reference ORIGINAL`` (numpy only): cosine and SNR of the decoded weights against the original tensors.
* ``--sentences FILE|builtin`` with ``--reference HF_DIR`` (needs ``nwcodec[torch]``): mean and worst cosine of
  the sentence embeddings of the decoded BERT model against the original's (architecture, vocab from HF_DIR).
* ``--dataset mnist.npz --arch mnist_cnn`` (needs ``nwcodec[torch]``): top-1 accuracy on the test split of
  an ``.npz`` with ``x_test``/``y_test`` (uint8 images scaled to [0, 1]), for a built-in architecture.
Prints one summary line, or a JSON object with ``--json`` (one row of a results file for ``nwcodec plot``).
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from .cli_common import Timer, number, status
from .errors import InputError

DATASET_KEYS = ("x_test", "y_test")


def decoded_arrays(path: str) -> tuple[dict[str, np.ndarray], int | None]:
    """Arrays of an ``.nwc`` stream (decoded here) or of a decoded tensor file; and the stream's size."""
    p = Path(path)
    if p.suffix.lower() == ".nwc":
        from .cli_io import read_bytes
        from .codec import decode

        data = read_bytes(p)
        return decode(data), len(data)
    return _plain_arrays(path), None


def _plain_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    from .codec.sources import load_weights

    return load_weights(path)[0]


def weight_fidelity(dec: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    """Cosine and SNR (dB) over all float tensors of ``ref`` flattened together, plus the worst tensor's cosine."""
    num = den_a = den_b = err = 0.0
    worst = 1.0
    for k, r in ref.items():
        if k not in dec:
            raise InputError(f"the decoded model lacks tensor {k!r}")
        if r.dtype.kind != "f" or not r.size:
            continue
        a, b = dec[k].astype(np.float64).ravel(), r.astype(np.float64).ravel()
        if a.shape != b.shape:
            raise InputError(f"{k}: decoded shape {dec[k].shape} != original {r.shape}")
        num, den_a, den_b, err = num + a @ b, den_a + a @ a, den_b + b @ b, err + float(np.sum((a - b) ** 2))
        if a @ a > 0 and b @ b > 0:
            worst = min(worst, float(a @ b / np.sqrt((a @ a) * (b @ b))))
    cos = num / np.sqrt(den_a * den_b) if den_a > 0 and den_b > 0 else 1.0
    return {"cosine": float(cos), "snr_db": float(10 * np.log10(den_b / err)) if err > 0 else float("inf"),
            "worst_tensor_cosine": worst}


def accuracy(arrays: dict[str, np.ndarray], arch: str, dataset: str, limit: int | None) -> float:
    from .extras import require

    torch = require("torch", "torch")
    from .train.models import build_model

    p = Path(dataset)
    if not p.is_file():
        raise InputError(f"no such dataset file: {p}")
    try:
        with np.load(p, allow_pickle=False) as z:
            if not set(DATASET_KEYS) <= set(z.files):
                raise InputError(f"{p}: a dataset .npz needs keys {', '.join(DATASET_KEYS)}")
            x, y = z["x_test"][:limit], z["y_test"][:limit]
    except ValueError as exc:
        raise InputError(f"cannot read {p} ({exc})") from None
    net = build_model(arch).eval()
    own = net.state_dict()
    missing = [k for k in own if k not in arrays]
    if missing:
        raise InputError(f"the stream does not fit --arch {arch}: missing {missing[:3]}")
    net.load_state_dict({k: torch.from_numpy(np.array(arrays[k], order="C")).to(own[k].dtype) for k in own})
    xt = torch.from_numpy(x.astype(np.float32) / 255.0)
    xt = xt[:, None] if xt.ndim == 3 else xt
    correct = 0
    with torch.no_grad():
        for i in range(0, len(xt), 2000):
            correct += int((net(xt[i:i + 2000]).argmax(1).numpy() == y[i:i + 2000]).sum())
    return 100.0 * correct / max(len(y), 1)


def embedding_fidelity(dec: dict[str, np.ndarray], ref: dict[str, np.ndarray], ref_dir: str,
                       sentences: list[str]) -> dict[str, float]:
    """Mean and worst cosine between the decoded and the original model's sentence embeddings."""
    from .formats.bert_embed import SentenceEmbedder, row_cosines

    e_ref = SentenceEmbedder(ref_dir, ref).embed(sentences)
    e_dec = SentenceEmbedder(ref_dir, dec).embed(sentences)
    c = row_cosines(e_dec, e_ref)
    return {"embedding_cosine": float(c.mean()), "embedding_cosine_min": float(c.min()), "sentences": len(sentences)}


def _eval(a: argparse.Namespace) -> None:
    if a.reference is None and a.dataset is None:
        raise InputError("give --reference ORIGINAL (weight cosine) and/or --dataset DATA.npz --arch NAME")
    if a.sentences is not None and (a.reference is None or not Path(a.reference).is_dir()):
        raise InputError("--sentences needs --reference ORIGINAL_DIR (the original Hugging Face model directory)")
    sentences = None
    if a.sentences is not None:
        from .formats.bert_embed import read_bert_config, read_tokenizer
        from .formats.sentences import read_sentences

        sentences = read_sentences(a.sentences)
        read_tokenizer(Path(a.reference), read_bert_config(Path(a.reference)))   # refuse a wrong dir before decoding
    if a.dataset is not None and a.arch is None:
        raise InputError("--dataset needs --arch (e.g. mnist_cnn)")
    t = Timer()
    arrays, nbytes = decoded_arrays(a.model)
    row: dict[str, object] = {"model": str(a.model), "bytes": nbytes}
    if a.reference is not None:
        ref = _plain_arrays(a.reference)
        row.update(weight_fidelity(arrays, ref))
        if sentences is not None:
            status(f"eval: sentence embeddings of {len(sentences)} sentences")
            row.update(embedding_fidelity(arrays, ref, a.reference, sentences))
    if a.dataset is not None:
        status(f"eval: {a.arch} on {a.dataset}")
        row["accuracy"] = accuracy(arrays, a.arch, a.dataset, a.limit)
    if a.json:
        print(json.dumps(row), flush=True)
        return
    parts = [f"{nbytes:,} bytes" if nbytes else None,
             f"accuracy {row['accuracy']:.2f} %" if "accuracy" in row else None,
             f"cosine {row['cosine']:.6f}, SNR {row['snr_db']:.2f} dB" if "cosine" in row else None,
             (f"embedding cosine {row['embedding_cosine']:.6f} (min {row['embedding_cosine_min']:.6f}, "
              f"{row['sentences']} sentences)") if "embedding_cosine" in row else None]
    print(f"{a.model}: " + ", ".join(p for p in parts if p) + f" ({t})", flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser("eval", help="score a decoded model: weight or embedding cosine vs the original, or accuracy")
    e.add_argument("model", help="MODEL.nwc, or a decoded .safetensors/.npz/.pt")
    e.add_argument("--reference", default=None, help="the original weights (any input format of encode)")
    e.add_argument("--sentences", default=None, metavar="FILE|builtin",
                   help="sentences (one a line) for the embedding cosine of a BERT model; 'builtin': 50 shipped ones")
    e.add_argument("--dataset", default=None, help=".npz with x_test (uint8 images) and y_test")
    e.add_argument("--arch", default=None, choices=("mnist_cnn", "lenet300", "lenet5"), help="built-in architecture")
    e.add_argument("--limit", type=number(1, integer=True), default=None, help="score only the first N examples")
    e.add_argument("--json", action="store_true", help="print one JSON row (for results files)")
    e.set_defaults(func=_eval)
