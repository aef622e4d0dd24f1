"""``nwcodec train`` for ``task: compress``: a float classifier → one method's ``.nwc`` (Deep Compression, OPQ, LC).

The float model comes from ``warm_start`` and/or ``pretrain_epochs``; the method fine-tunes it (with
``distill`` > 0 also towards the float model's soft predictions) and writes ``out_dir/model.nwc``. The test
error in ``summary.json`` is measured on a fresh model loaded from the decoded stream.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch.utils.data import DataLoader

from nwcodec.train.compress_config import validate_compress


def _deep_compression(model: torch.nn.Module, loader: DataLoader, cfg: dict[str, Any]) -> bytes:
    from nwcodec.methods import DCConfig, deep_compression

    return deep_compression(model, loader, DCConfig(**cfg["deep_compression"], distill=cfg["distill"]))


def _opq(model: torch.nn.Module, loader: DataLoader, cfg: dict[str, Any]) -> bytes:
    from nwcodec.methods import opq

    o = cfg["opq"]
    return opq(model, loader, o["target_bytes"], epochs=o["epochs"], lr=o["lr"], distill=cfg["distill"])


def _lc(model: torch.nn.Module, loader: DataLoader, cfg: dict[str, Any]) -> bytes:
    from nwcodec.methods import Scheme, lc

    c = cfg["lc"]
    scheme = Scheme(c["parts"], k=c["k"], rank=c["rank"], frac=c["frac"])
    keys = ("lc_steps", "epochs_per_step", "mu0", "mu_growth", "lr", "lr_decay", "first_step_factor", "optimizer",
            "multipliers")
    return lc(model, loader, scheme, distill=cfg["distill"], **{k: c[k] for k in keys})


# config ``method`` -> the call that fine-tunes the model and returns its stream (one entry per method)
METHODS: dict[str, Callable[[torch.nn.Module, DataLoader, dict[str, Any]], bytes]] = {
    "deep_compression": _deep_compression, "opq": _opq, "lc": _lc}


def run_compress(raw: dict[str, Any], config_dir: Path | None = None) -> dict[str, Any]:
    """Pretrain (optional), compress, write ``out_dir/model.nwc`` and ``summary.json``; returns the summary."""
    import nwcodec
    from nwcodec.methods.common import train
    from nwcodec.train.classify import build_base_model, load_data, resolve_path, test_error, to_tensors
    from nwcodec.train.models import build_model

    cfg = validate_compress(raw)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    train_split, test_split, source = load_data({"data": cfg["data"], "seed": cfg["seed"]})
    train_set, test_set = to_tensors(train_split), to_tensors(test_split)
    loader = DataLoader(train_set, batch_size=cfg["batch_size"], shuffle=True,
                        generator=torch.Generator().manual_seed(cfg["seed"]))
    cpu = torch.device("cpu")
    model = build_base_model({"model": cfg["model"], "warm_start": cfg["warm_start"]}, cpu)
    say: Callable[[str], None] = print if cfg["progress"] else (lambda _: None)
    t0 = time.time()
    if cfg["pretrain_epochs"] > 0:
        train(model, loader, cfg["pretrain_epochs"], cfg["pretrain_lr"], log=say)
    float_error = test_error(model, test_set, cfg["eval_batch_size"], cpu)
    t1 = time.time()
    data = METHODS[cfg["method"]](model, loader, cfg)
    seconds = time.time() - t1
    out = resolve_path(cfg["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    stream = out / "model.nwc"
    stream.write_bytes(data)
    fresh = build_model(cfg["model"])
    nwcodec.load_into_module(fresh, nwcodec.decode(stream.read_bytes()))
    n = sum(p.numel() for p in fresh.parameters())
    summary = {"method": cfg["method"], "model": cfg["model"], "data": source, "bytes": len(data),
               "bits_per_param": 8 * len(data) / max(n, 1), "num_params": n,
               "test_error": test_error(fresh, test_set, cfg["eval_batch_size"], cpu), "float_test_error": float_error,
               "pretrain_seconds": t1 - t0, "compress_seconds": seconds, "distill": cfg["distill"],
               "stream": str(stream), "settings": cfg[cfg["method"]]}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    say(json.dumps(summary, indent=1))
    return summary
