"""Train an EPR-compressed MNIST classifier (single process or under torchrun), one run per lam.

CLI: ``python -m nwcodec.train.classify CONFIG.yaml`` (or ``torchrun --nproc_per_node=2 -m ...``).
"""
from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, TensorDataset
from tqdm import tqdm

from nwcodec.errors import InputError
from nwcodec.reparam.export import bits_under_priors, export_latents
from nwcodec.reparam.model_reparam import num_model_params, param_groups, reparameterize
from nwcodec.reparam.rate import rate_bits
from nwcodec.train.config import load_config, validate_config
from nwcodec.train.distributed import (DistInfo, average_gradients, broadcast_parameters,
                                       init_distributed, replicas_in_sync, shutdown)
from nwcodec.train.mnist import Split, load_mnist_npz, synthetic_digits
from nwcodec.train.models import build_model
from nwcodec.train.report import write_summary, write_sweep

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = "checkpoint.pt"


def resolve_path(path: str) -> Path:
    """A config path as given if it exists, else relative to the repository root."""
    p = Path(path)
    return p if p.is_absolute() or p.exists() else REPO_ROOT / p


def load_data(cfg: dict[str, Any]) -> tuple[Split, Split, str]:
    """MNIST from ``data.path``, or the synthetic stand-in (no path, or missing with fallback)."""
    data = cfg["data"]
    if data["path"] is not None:
        path = resolve_path(data["path"])
        if path.is_file():
            return (*load_mnist_npz(path), str(path))
        if not data["fallback"]:
            raise InputError(f"data.path: MNIST file not found: {path}")
        warnings.warn(f"{path} not found; using the synthetic digit stand-in", stacklevel=2)
    train, test = synthetic_digits(data["synthetic_train"], data["synthetic_test"], seed=cfg["seed"])
    return train, test, "synthetic"


def to_tensors(split: Split) -> TensorDataset:
    x = torch.from_numpy(split.images).float().div_(255.0).unsqueeze(1)
    return TensorDataset(x, torch.from_numpy(split.labels))


@torch.no_grad()
def test_error(model: nn.Module, data: TensorDataset, batch: int, device: torch.device) -> float:
    """Classification error of ``model`` in eval mode (EPR latents: exact synthesized weights)."""
    was_training = model.training
    model.eval()
    wrong = 0
    x_all, y_all = data.tensors
    for i in range(0, len(y_all), batch):
        logits = model(x_all[i:i + batch].to(device))
        wrong += int((logits.argmax(1).cpu() != y_all[i:i + batch]).sum())
    model.train(was_training)
    return wrong / len(y_all)


def build_base_model(cfg: dict[str, Any], device: torch.device) -> nn.Module:
    """The plain model, loaded from ``warm_start`` when configured."""
    model = build_model(cfg["model"])
    if cfg["warm_start"] is not None:
        path = resolve_path(cfg["warm_start"])
        if not path.is_file():
            raise InputError(f"warm_start: file not found: {path}")
        model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    return model.to(device)


def make_optimizer(model: nn.Module, lr: dict[str, float]) -> torch.optim.Optimizer:
    groups = param_groups(model)
    return torch.optim.Adam([{"params": ps, "lr": lr[name], "name": name}
                             for name, ps in groups.items() if ps])


def side_bytes(latents: list, plain: dict[str, np.ndarray]) -> int:
    """Bytes of float side information: decoder params and the float tensors, as float32."""
    dec = sum(p.size for lt in latents for p in lt.params.values())
    return 4 * (dec + sum(a.size for a in plain.values() if a.dtype.kind == "f"))


def try_encode(latents: list, priors: dict, plain: dict) -> int | None:
    """Coded size in bytes via ``nwcodec.codec.encode_latent_model``, or None if not available yet."""
    try:
        from nwcodec.codec import encode_latent_model  # type: ignore[attr-defined]
    except ImportError:
        warnings.warn("nwcodec.codec.encode_latent_model not importable; skipping the bitstream",
                      stacklevel=2)
        return None
    return len(encode_latent_model(latents, priors, plain))


def train_one(cfg: dict[str, Any], lam: float, run_dir: Path, data: tuple[TensorDataset, TensorDataset],
              info: DistInfo, device: torch.device) -> dict[str, Any]:
    """Train one EPR model at ``lam``; rank 0 writes checkpoints and the summary to ``run_dir``."""
    torch.manual_seed(cfg["seed"])
    train_set, test_set = data
    model = build_base_model(cfg, device)
    warm_error = test_error(model, test_set, cfg["eval_batch_size"], device) if cfg["warm_start"] else None
    reparameterize(model, cfg["reparam"])
    model.to(device)
    broadcast_parameters(model, info)
    reparam_error = test_error(model, test_set, cfg["eval_batch_size"], device)
    opt = make_optimizer(model, cfg["lr"])
    n_params = num_model_params(model)
    start_epoch, step = 0, 0
    ckpt_path = run_dir / CHECKPOINT
    if cfg["resume"] and ckpt_path.is_file():
        state = torch.load(ckpt_path, weights_only=True, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start_epoch, step = int(state["epoch"]), int(state["step"])
    if info.world_size > 1:
        sampler = DistributedSampler(train_set, info.world_size, info.rank, shuffle=True, seed=cfg["seed"])
    else:
        sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(cfg["seed"]))
    loader = DataLoader(train_set, batch_size=cfg["batch_size"], sampler=sampler, drop_last=True)
    params = [p for g in opt.param_groups for p in g["params"]]
    max_steps = cfg["max_steps"] or math.inf
    t0 = time.time()
    model.train()
    for epoch in range(start_epoch, cfg["epochs"]):
        if step >= max_steps:
            break
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        else:
            sampler.generator.manual_seed(cfg["seed"] + epoch)
        bar = tqdm(loader, desc=f"lam={lam:g} epoch {epoch + 1}/{cfg['epochs']}",
                   disable=not (cfg["progress"] and info.is_main), leave=False)
        for x, y in bar:
            task = F.cross_entropy(model(x.to(device)), y.to(device))
            bits = rate_bits(model, noisy=True)
            loss = task + lam * bits / n_params
            opt.zero_grad(set_to_none=True)
            loss.backward()
            average_gradients(params, info)
            opt.step()
            step += 1
            bar.set_postfix(ce=f"{task.item():.3f}", bpp=f"{bits.item() / n_params:.3f}")
            if step >= max_steps:
                break
        if info.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "epoch": epoch + 1, "step": step}, ckpt_path)
    train_seconds = time.time() - t0
    in_sync = replicas_in_sync(model, info)
    summary: dict[str, Any] = {}
    if info.is_main:
        latents, priors, plain = export_latents(model)
        est_bits = bits_under_priors(latents, priors)
        side = side_bytes(latents, plain)
        summary = {
            "model": cfg["model"], "lam": lam, "steps": step, "epochs": cfg["epochs"],
            "world_size": info.world_size, "replicas_in_sync": in_sync,
            "test_error": test_error(model, test_set, cfg["eval_batch_size"], device),
            "warm_start_test_error": warm_error, "reparam_test_error": reparam_error,
            "estimated_bits": est_bits, "estimated_bytes": est_bits / 8, "side_bytes": side,
            "total_estimated_bytes": est_bits / 8 + side, "bits_per_param": est_bits / n_params,
            "num_params": n_params,
            "coded_bytes": try_encode(latents, priors, plain) if cfg["encode"] else None,
            "train_seconds": round(train_seconds, 2),
        }
        torch.save(model.state_dict(), run_dir / "model_final.pt")
        write_summary(run_dir, summary)
    return summary


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise InputError("device: cuda requested but not available")
        return torch.device("cuda")
    return torch.device("cpu")


def train_classifier(config: dict[str, Any]) -> dict[str, Any]:
    """Train one EPR model per ``lam`` of ``config``; returns ``{"runs": [summary, ...], ...}``.

    Under torchrun every rank trains on its DistributedSampler shard with averaged gradients and
    rank 0 writes ``out_dir`` (per-lam ``summary.json``/``.md``, checkpoints, and for sweeps
    ``sweep.json``/``.md`` and ``rate_error.png``). Non-zero ranks return empty summaries.
    """
    cfg = validate_config(config)
    device = pick_device(cfg["device"])
    info = init_distributed(device.type == "cuda")
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    try:
        train_split, test_split, source = load_data(cfg)
        data = (to_tensors(train_split), to_tensors(test_split))
        out_dir = Path(cfg["out_dir"]).resolve()
        runs = []
        for lam in cfg["lam"]:
            run_dir = out_dir / f"lam_{lam:g}" if len(cfg["lam"]) > 1 else out_dir
            runs.append(train_one(cfg, lam, run_dir, data, info, device))
        if info.is_main and len(runs) > 1:
            write_sweep(out_dir, runs)
        return {"runs": runs, "data": source, "out_dir": str(out_dir), "rank": info.rank}
    finally:
        shutdown(info)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", help="YAML config (see configs/mnist_*.yaml)")
    parser.add_argument("--out-dir", help="override out_dir")
    args = parser.parse_args(argv)
    cfg = load_config(args.config)
    if args.out_dir:
        cfg["out_dir"] = args.out_dir
    result = train_classifier(cfg)
    if result["rank"] == 0:
        for run in result["runs"]:
            print(f"lam={run['lam']:g} test_error={run['test_error']:.4f} "
                  f"est_bytes={run['total_estimated_bytes']:.0f} bits/param={run['bits_per_param']:.4f}")


if __name__ == "__main__":
    main()
