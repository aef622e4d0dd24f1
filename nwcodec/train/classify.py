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
from torch.nn.utils import parametrize
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler, TensorDataset
from tqdm import tqdm

from nwcodec.codec import encode_latent_model, parse
from nwcodec.codec.info import stream_info
from nwcodec.errors import InputError
from nwcodec.methods.distill import distill_loss
from nwcodec.reparam.export import export_latents
from nwcodec.reparam.model_reparam import num_model_params, param_groups, reparameterize
from nwcodec.reparam.rate import rate_bits, refit_priors
from nwcodec.reparam.stream import choose_group_tables
from nwcodec.train.config import load_config, validate_config
from nwcodec.train.distributed import (DistInfo, average_gradients, broadcast_parameters,
                                       init_distributed, replicas_in_sync, shutdown)
from nwcodec.train.mnist import Split, load_mnist_npz, synthetic_digits
from nwcodec.train.models import build_model
from nwcodec.train.report import write_summary, write_sweep

CHECKPOINT = "checkpoint.pt"
STREAM = "model.nwc"
PRETRAINED = "pretrained.pt"


def resolve_path(path: str) -> Path:
    """A config path as given (``nwcodec.config.load`` already made input paths absolute; others are cwd-relative)."""
    return Path(path).expanduser()


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
    """Classification error of ``model`` in eval mode (EPR latents: exact synthesized weights,
    synthesized once per call thanks to ``parametrize.cached``)."""
    was_training = model.training
    model.eval()
    wrong = 0
    x_all, y_all = data.tensors
    with parametrize.cached():
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


def make_schedule(opt: torch.optim.Optimizer, decay: str, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step lr factor: constant (``"none"``) or cosine from 1 to 0 over ``total_steps``."""
    if decay == "none":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)
    n = max(total_steps, 1)
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, n) / n)))


def make_loader(train_set: TensorDataset, cfg: dict[str, Any], info: DistInfo) -> tuple[DataLoader, Any]:
    """A shuffling loader (DistributedSampler shard under torchrun) and its sampler."""
    if info.world_size > 1:
        sampler = DistributedSampler(train_set, info.world_size, info.rank, shuffle=True, seed=cfg["seed"])
    else:
        sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(cfg["seed"]))
    return DataLoader(train_set, batch_size=cfg["batch_size"], sampler=sampler, drop_last=True), sampler


def set_epoch(sampler: Any, seed: int, epoch: int) -> None:
    if isinstance(sampler, DistributedSampler):
        sampler.set_epoch(epoch)
    else:
        sampler.generator.manual_seed(seed + epoch)


def pretrain(model: nn.Module, train_set: TensorDataset, cfg: dict[str, Any], info: DistInfo,
             device: torch.device) -> float:
    """Train the plain float model for ``pretrain_epochs`` (Adam, ``lr.pretrain``); returns seconds."""
    torch.manual_seed(cfg["seed"])
    broadcast_parameters(model, info)
    loader, sampler = make_loader(train_set, cfg, info)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"]["pretrain"])
    sched = make_schedule(opt, cfg["lr_decay"], cfg["pretrain_epochs"] * len(loader))
    params = list(model.parameters())
    t0 = time.time()
    model.train()
    for epoch in range(cfg["pretrain_epochs"]):
        set_epoch(sampler, cfg["seed"] + 1000, epoch)
        for x, y in tqdm(loader, desc=f"pretrain epoch {epoch + 1}/{cfg['pretrain_epochs']}",
                         disable=not (cfg["progress"] and info.is_main), leave=False):
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            average_gradients(params, info)
            opt.step()
            sched.step()
    return time.time() - t0


def side_bytes(latents: list, plain: dict[str, np.ndarray]) -> int:
    """Bytes of float side information: decoder params and the float tensors, as float32."""
    dec = sum(p.size for lt in latents for p in lt.params.values())
    return 4 * (dec + sum(a.size for a in plain.values() if a.dtype.kind == "f"))


def encoded_sizes(latents: list, chosen: dict, specs: dict, plain: dict, notes: list[str]) -> tuple[bytes, dict[str, Any]]:
    """The stream (per group the cheaper of the entropy model's and the empirical table, with notes),
    its size and where its bytes go, plus the sizes with all-prior and all-empirical tables."""
    data = encode_latent_model(latents, chosen, plain, notes=notes)
    others = {mode: len(encode_latent_model(latents, specs, plain, table_mode=mode)) for mode in ("prior", "auto")}
    info = stream_info(parse(data))
    latent_bytes = sum(t["bytes"] for t in info["tensors"] if t["coding"] == "latent")
    return data, {"coded_bytes": len(data), "coded_bytes_prior_tables": others["prior"],
                  "coded_bytes_auto_tables": others["auto"],
                  "header_bytes": info["header_bytes"], "table_bytes": info["table_bytes"],
                  "latent_payload_bytes": latent_bytes, "coded_latent_bits": latent_segment_bits(data),
                  "float_payload_bytes": info["payload_bytes"] - latent_bytes}


def latent_segment_bits(data: bytes) -> int:
    """Bits of the latents' segment lists in a stream: each ``latent`` TENS payload less its tensor
    index and its decoder's float32 params (what the entropy models' estimate predicts)."""
    ps = parse(data)
    total = 0
    for i, t in enumerate(ps.tensors):
        if t["coding"] == "latent":
            index_bytes = max(1, -(-i.bit_length() // 7))
            params = sum(4 * math.prod(shape) for shape in t["params"].values())
            total += 8 * (len(ps.payloads[i]) - index_bytes - params)
    return total


def adapt_lam(lam: float, estimated_bytes: float, target_bytes: float | None) -> float:
    """``target_bytes`` mode: scale lam by the ratio of estimated to target size (clipped to
    0.5..2 per epoch), so the rate settles at the target whatever the model."""
    if target_bytes is None:
        return lam
    return lam * min(max(estimated_bytes / target_bytes, 0.5), 2.0)


def rate_report(model: nn.Module, n_params: int) -> tuple[dict[str, Any], tuple]:
    """Exact bits of the integer latents under the tables that will be written, per group."""
    latents, specs, plain = export_latents(model)
    chosen, costs, notes = choose_group_tables(model, latents, specs)
    est = sum(c.coded_bits for c in costs)
    side = side_bytes(latents, plain)
    numel = sum(c.numel for c in costs)
    report = {
        "estimated_bits": est, "estimated_bytes": est / 8,
        "estimated_bits_prior_tables": sum(c.prior_bits for c in costs),
        "table_description_bits": sum(c.written_table_bits for c in costs),
        "side_bytes": side, "total_estimated_bytes": est / 8 + side, "bits_per_param": est / n_params,
        "num_latents": numel, "nonzero_latents": numel - sum(c.zeros for c in costs),
        "zero_latent_share": sum(c.zeros for c in costs) / max(numel, 1),
        "tables": {c.group: c.table for c in costs}, "notes": notes,
    }
    return report, (latents, chosen, specs, plain, notes)


def train_one(cfg: dict[str, Any], lam: float, run_dir: Path, data: tuple[TensorDataset, TensorDataset],
              base_state: dict[str, torch.Tensor], info: DistInfo, device: torch.device) -> dict[str, Any]:
    """Train one EPR model at ``lam`` from ``base_state``; rank 0 writes checkpoints and the summary."""
    torch.manual_seed(cfg["seed"])
    lam_start = lam
    train_set, test_set = data
    model = build_model(cfg["model"]).to(device)
    model.load_state_dict(base_state)
    warm = cfg["warm_start"] is not None or cfg["pretrain_epochs"] > 0
    warm_error = test_error(model, test_set, cfg["eval_batch_size"], device) if warm else None
    reparameterize(model, cfg["reparam"])
    model.to(device)
    broadcast_parameters(model, info)
    reparam_error = test_error(model, test_set, cfg["eval_batch_size"], device)
    teacher = None
    if cfg["distill"] > 0:                      # the warm-start float model, frozen
        teacher = build_model(cfg["model"]).to(device)
        teacher.load_state_dict(base_state)
        teacher.eval().requires_grad_(False)
    opt = make_optimizer(model, cfg["lr"])
    n_params = num_model_params(model)
    loader, sampler = make_loader(train_set, cfg, info)
    total_steps = min(cfg["epochs"] * len(loader), cfg["max_steps"] or math.inf)
    sched = make_schedule(opt, cfg["lr_decay"], total_steps)
    start_epoch, step = 0, 0
    ckpt_path = run_dir / CHECKPOINT
    if cfg["resume"] and ckpt_path.is_file():
        state = torch.load(ckpt_path, weights_only=True, map_location=device)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["schedule"])
        start_epoch, step = int(state["epoch"]), int(state["step"])
        lam = float(state.get("lam", lam))
    params = [p for g in opt.param_groups for p in g["params"]]
    t0 = time.time()
    model.train()
    for epoch in range(start_epoch, cfg["epochs"]):
        if step >= total_steps:
            break
        set_epoch(sampler, cfg["seed"], epoch)
        bar = tqdm(loader, desc=f"lam={lam:g} epoch {epoch + 1}/{cfg['epochs']}",
                   disable=not (cfg["progress"] and info.is_main), leave=False)
        for x, y in bar:
            x = x.to(device)
            logits = model(x)
            task = F.cross_entropy(logits, y.to(device))
            if teacher is not None:
                task = distill_loss(logits, teacher, x, task, cfg["distill"], cfg["distill_temperature"])
            bits = rate_bits(model, mode=cfg["rate_mode"])
            loss = task + lam * bits / n_params
            opt.zero_grad(set_to_none=True)
            loss.backward()
            average_gradients(params, info)
            opt.step()
            sched.step()
            step += 1
            bar.set_postfix(ce=f"{task.item():.3f}", bpp=f"{bits.item() / n_params:.3f}")
            if step >= total_steps:
                break
        if cfg["target_bytes"] is not None:
            est_now, _ = rate_report(model, n_params)
            lam = adapt_lam(lam, est_now["total_estimated_bytes"], cfg["target_bytes"])
        if info.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "schedule": sched.state_dict(), "epoch": epoch + 1, "step": step, "lam": lam}, ckpt_path)
    train_seconds = time.time() - t0
    in_sync = replicas_in_sync(model, info)
    summary: dict[str, Any] = {}
    if info.is_main:
        with torch.no_grad():
            training_bits = float(rate_bits(model, mode=cfg["rate_mode"]))
        refit_priors(model, cfg["prior_refit_steps"])
        report, (latents, chosen, specs, plain, notes) = rate_report(model, n_params)
        summary = {
            "model": cfg["model"], "lam": lam_start, "final_lam": lam, "rate_mode": cfg["rate_mode"],
            "target_bytes": cfg["target_bytes"], "steps": step, "epochs": cfg["epochs"],
            "world_size": info.world_size, "replicas_in_sync": in_sync,
            "test_error": test_error(model, test_set, cfg["eval_batch_size"], device),
            "warm_start_test_error": warm_error, "reparam_test_error": reparam_error,
            "training_bits": training_bits, **report,
            "num_params": n_params, "train_seconds": round(train_seconds, 2),
        }
        if cfg["encode"]:
            data, sizes = encoded_sizes(latents, chosen, specs, plain, notes)
            summary.update(sizes)
            if cfg["write_stream"]:
                run_dir.mkdir(parents=True, exist_ok=True)
                (run_dir / STREAM).write_bytes(data)
                summary["stream"] = str(run_dir / STREAM)
        torch.save(model.state_dict(), run_dir / "model_final.pt")
        write_summary(run_dir, summary)
    return summary


def base_state_dict(cfg: dict[str, Any], train_set: TensorDataset, out_dir: Path, info: DistInfo,
                    device: torch.device) -> tuple[dict[str, torch.Tensor], float]:
    """The float start point of every lam: ``warm_start`` and/or ``pretrain_epochs`` of plain
    training (saved as ``out_dir/pretrained.pt`` and reused on ``resume``); returns (state, seconds)."""
    model = build_base_model(cfg, device)
    seconds = 0.0
    if cfg["pretrain_epochs"] > 0:
        path = out_dir / PRETRAINED
        if cfg["resume"] and path.is_file():
            model.load_state_dict(torch.load(path, weights_only=True, map_location=device))
        else:
            seconds = pretrain(model, train_set, cfg, info, device)
            if info.is_main:
                out_dir.mkdir(parents=True, exist_ok=True)
                torch.save(model.state_dict(), path)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}, seconds


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
        base_state, pretrain_seconds = base_state_dict(cfg, data[0], out_dir, info, device)
        runs = []
        for lam in cfg["lam"]:
            run_dir = out_dir / f"lam_{lam:g}" if len(cfg["lam"]) > 1 else out_dir
            run = train_one(cfg, lam, run_dir, data, base_state, info, device)
            if run:
                run["pretrain_seconds"] = round(pretrain_seconds, 2)
            runs.append(run)
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
