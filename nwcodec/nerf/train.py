"""Train a :class:`SceneModel` on random ray batches, optionally with a rate penalty.

``loss = mse(fine) + mse(coarse) + lam * rate_fn() / num_params``: ``rate_fn`` returns a
differentiable total of bits (e.g. the entropy-penalised reparameterisation's rate).
Checkpoints are ``torch.save`` dicts of tensors and plain values, loaded with ``weights_only=True``.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
from tqdm import tqdm

from nwcodec.errors import InputError
from nwcodec.nerf.config import ModelConfig, TrainConfig
from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.metrics import mse_to_psnr, psnr
from nwcodec.nerf.model import SceneModel, num_parameters
from nwcodec.nerf.rays import get_rays
from nwcodec.nerf.render import render_views


@dataclass
class TrainResult:
    """What a run did: steps done (in total, across resumes), wall time of this call, logs."""

    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)  # {"step", "loss", "mse", "psnr", "rate_bits"}
    val: list[dict] = field(default_factory=list)  # {"step", "psnr"}

    @property
    def final_val_psnr(self) -> float | None:
        return self.val[-1]["psnr"] if self.val else None


def make_model(config: ModelConfig, dataset: SceneDataset | None = None, seed: int = 0,
               aabb: tuple[float, ...] | None = None) -> SceneModel:
    """Build a model with seeded initialisation; near/far/background come from ``dataset`` when given,
    the scene box from ``aabb`` when the config has none (grid fields)."""
    if aabb is not None and config.type != "mlp" and config.aabb is None:
        config = dataclasses.replace(config, aabb=tuple(float(v) for v in aabb))
    if dataset is not None:
        render = dataclasses.replace(config.render, near=dataset.near, far=dataset.far, background=tuple(dataset.background))
        config = dataclasses.replace(config, render=render)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SceneModel(config)


def validation_psnr(model: SceneModel, dataset: SceneDataset, views: int, chunk: int, device: torch.device | str) -> float:
    """Mean PSNR over the first ``views`` images of ``dataset``."""
    out = render_views(model, dataset.poses[:views], dataset.H, dataset.W, dataset.focal, chunk, device)
    return float(np.mean([psnr(img, ref) for img, ref in zip(out.images, dataset.images[:views])]))


def _ray_table(dataset: SceneDataset, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    poses = torch.as_tensor(dataset.poses, device=device)
    origins, dirs = get_rays(poses, dataset.H, dataset.W, dataset.focal)
    return origins.contiguous(), dirs.contiguous(), torch.as_tensor(dataset.images, device=device)


def on_background(rgb: torch.Tensor, acc: torch.Tensor, rendered_on: torch.Tensor, bg: torch.Tensor) -> torch.Tensor:
    """Colours ``rgb`` ``[R, 3]`` rendered over ``rendered_on`` ``[3]``, moved onto ``bg`` ``[R, 3]`` (coverage ``acc``)."""
    return rgb + (1.0 - acc)[:, None] * (bg - rendered_on)


def _sample_batch(n: int, H: int, W: int, batch: int, crop: float | None, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    img = torch.randint(0, n, (batch,), generator=gen)
    if crop is None:
        return img, torch.randint(0, H, (batch,), generator=gen), torch.randint(0, W, (batch,), generator=gen)
    dh, dw = max(1, int(H * crop / 2)), max(1, int(W * crop / 2))
    rows = torch.randint(H // 2 - dh, H // 2 + dh, (batch,), generator=gen)
    cols = torch.randint(W // 2 - dw, W // 2 + dw, (batch,), generator=gen)
    return img, rows, cols


def save_checkpoint(path: str | Path, model: SceneModel, optimizer: torch.optim.Optimizer, step: int,
                    gen: torch.Generator, result: TrainResult) -> None:
    """Write atomically (temp file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
        "generator": gen.get_state(), "config": model.to_config(),
        "history": result.history, "val": result.val, "seconds": float(result.seconds),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``; never unpickles code)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises several types for damaged or foreign files
        raise InputError(f"cannot read checkpoint {path}: {exc}") from exc
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise InputError(f"{path} is not an nwcodec scene checkpoint")
    return state


def load_scene_model(path: str | Path, map_location: str | torch.device = "cpu") -> SceneModel:
    """Rebuild a :class:`SceneModel` from a checkpoint (config + weights), in eval mode."""
    state = load_checkpoint(path, map_location)
    model = SceneModel.from_config(state["config"])
    model.load_state_dict(state["model"])
    return model.eval()


def train_scene(
    model: SceneModel, dataset: SceneDataset, cfg: TrainConfig, rate_fn: Callable[[], torch.Tensor] | None = None,
    lam: float = 0.0, val_dataset: SceneDataset | None = None, checkpoint_path: str | Path | None = None,
    resume: bool = False, device: torch.device | str = "cpu", progress: bool = True,
    num_params: int | None = None, log_every: int = 50, stop_at: int | None = None,
    extra_params: Iterable[torch.nn.Parameter] = (),
    param_groups: list[dict] | None = None, log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Optimise ``model`` for ``cfg.iters`` total steps (Adam, exponential lr decay to ``cfg.lr_final``).

    ``rate_fn()`` (bits, differentiable) is logged as ``rate_bits`` and, when ``lam`` is non-zero,
    added as ``lam * bits / num_params`` (default: the model's parameter count); ``extra_params``
    (e.g. prior parameters living outside ``model``) are optimised alongside. With ``resume`` and
    an existing ``checkpoint_path``, weights, optimiser, step and sampler state are restored and
    training continues to ``cfg.iters``; ``stop_at`` ends early at that step with a checkpoint, as
    an interrupted run would (the lr schedule still spans ``cfg.iters``). ``param_groups`` (Adam
    groups, each with an optional ``lr_scale`` multiplying the scheduled lr, e.g. for EPR latents)
    replaces the default single group of ``model`` + ``extra_params``. ``log`` receives a progress
    line about every 10% of the run (for piped output). Validation PSNR on
    ``val_dataset`` every ``cfg.val_every`` steps and at the end. ``model`` is left in eval mode.
    """
    model.to(device).train()
    groups = param_groups if param_groups is not None else [{"params": [*model.parameters(), *extra_params]}]
    optimizer = torch.optim.Adam([{**g, "lr": cfg.lr * g.get("lr_scale", 1.0)} for g in groups], lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    result, start, before = TrainResult(steps=0, seconds=0.0), 0, 0.0
    if resume and checkpoint_path is not None and Path(checkpoint_path).is_file():
        state = load_checkpoint(checkpoint_path, device)
        if state["config"] != model.to_config():
            raise InputError(f"checkpoint {checkpoint_path} was made for a different model config")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        start, result.history, result.val = int(state["step"]), list(state["history"]), list(state["val"])
        before = float(state.get("seconds", 0.0))  # training seconds of the sessions before this one
    n_params = num_params or num_parameters(model)
    origins, dirs, targets = _ray_table(dataset, device)
    n, H, W = len(dataset), dataset.H, dataset.W
    alphas = None
    if cfg.random_background and dataset.alphas is not None:
        alphas = torch.as_tensor(dataset.alphas, device=device)
        view_bg = torch.tensor(dataset.background, dtype=torch.float32, device=device)
    t0 = time.perf_counter()
    end = cfg.iters if stop_at is None else min(stop_at, cfg.iters)
    bar = tqdm(range(start, end), initial=start, total=cfg.iters, disable=not progress, desc="train", leave=False)
    for step in bar:
        lr = cfg.lr * (cfg.lr_final / cfg.lr) ** (step / max(1, cfg.iters))
        for group in optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        crop = cfg.precrop_frac if step < cfg.precrop_iters else None
        i, r, c = _sample_batch(n, H, W, cfg.batch_rays, crop, gen)
        i, r, c = i.to(device), r.to(device), c.to(device)
        out = model(origins[i, r, c], dirs[i, r, c], generator=gen)
        target = targets[i, r, c]
        if alphas is not None:  # each ray on its own random colour: empty space must stay empty
            bg = torch.rand(len(i), 3, generator=gen).to(device)
            target = target + (1.0 - alphas[i, r, c])[:, None] * (bg - view_bg)
            out = {**out, "rgb": on_background(out["rgb"], out["acc"], model.background, bg),
                   "rgb_coarse": on_background(out["rgb_coarse"], out["acc_coarse"], model.background, bg)}
        mse = torch.mean((out["rgb"] - target) ** 2)
        loss = mse + (torch.mean((out["rgb_coarse"] - target) ** 2) if model.fine is not None else 0.0)
        rate_bits = None
        if rate_fn is not None:
            rate_bits = rate_fn()
            if lam:
                loss = loss + lam * rate_bits / n_params
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        if done % log_every == 0 or done == cfg.iters:
            entry = {"step": done, "loss": loss.item(), "mse": mse.item(), "psnr": mse_to_psnr(mse.item())}
            if rate_bits is not None:
                entry["rate_bits"] = rate_bits.item()
            result.history.append(entry)
            bar.set_postfix(psnr=f"{entry['psnr']:.2f}")
        if log is not None and (done % max(1, cfg.iters // 10) == 0 or done == end):
            log(f"  step {done}/{cfg.iters}: train PSNR {mse_to_psnr(mse.item()):.2f} dB, "
                f"{time.perf_counter() - t0:.0f} s")
        want_val = val_dataset is not None and cfg.val_views > 0
        if want_val and ((cfg.val_every and done % cfg.val_every == 0) or done == cfg.iters):
            result.val.append({"step": done, "psnr": validation_psnr(model, val_dataset, cfg.val_views, cfg.chunk, device)})
        if checkpoint_path is not None and ((cfg.ckpt_every and done % cfg.ckpt_every == 0) or done == end):
            result.seconds = before + time.perf_counter() - t0
            save_checkpoint(checkpoint_path, model, optimizer, done, gen, result)
    bar.close()
    result.steps, result.seconds = max(start, end), before + time.perf_counter() - t0
    model.eval()
    return result
