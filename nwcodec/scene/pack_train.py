"""Joint training of a :class:`~nwcodec.scene.pack_model.ScenePack`, and fitting a new scene to a frozen base.

``loss = sum_s [mse_s (+ coarse mse_s)] + lam * bits / (N * params_per_scene)`` where ``bits`` counts
the shared latents once and each trained scene's residuals (continuous relaxation with uniform
noise). Every step renders one ray batch per scene, so each scene sees as many steps as a
single-scene run of the same ``TrainConfig``. Needs torch, not the entropy coder.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from nwcodec.nerf.config import TrainConfig
from nwcodec.nerf.dataparsers.blender import SceneDataset
from nwcodec.nerf.metrics import mse_to_psnr
from nwcodec.nerf.rays import get_rays
from nwcodec.scene.config import LrScales
from nwcodec.scene.pack_model import ScenePack, pack_rate_bits


@dataclass
class PackTrainResult:
    steps: int
    seconds: float
    history: list[dict] = field(default_factory=list)  # {"step", "loss", "mse", "psnr", "rate_bits"}


class _Rays:
    """A dataset's rays and pixels on ``device`` and a seeded sampler of random batches."""

    def __init__(self, ds: SceneDataset, device: torch.device | str) -> None:
        poses = torch.as_tensor(ds.poses, device=device)
        origins, dirs = get_rays(poses, ds.H, ds.W, ds.focal)
        self.origins = origins.reshape(-1, 3).contiguous()
        self.dirs = dirs.reshape(-1, 3).contiguous()
        self.rgb = torch.as_tensor(ds.images, device=device).reshape(-1, 3)

    def batch(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, self.rgb.shape[0], (n,), generator=gen).to(self.rgb.device)
        return self.origins[idx], self.dirs[idx], self.rgb[idx]


def _param_groups(pack: ScenePack, scenes: list[int], lr: LrScales) -> list[dict]:
    latents, decoders, priors, floats = [], [], [], []
    for t in pack.shared:
        if t.frozen_params is None:
            latents.append(t.latent)
            decoders += [t.offset, t.log_scale]
            if t.prior is not None:
                priors += list(t.prior.parameters())
    for s in scenes:
        slot = pack.scenes[s]
        latents += list(slot.residuals)
        floats += list(slot.floats)
        priors += list(slot.prior.parameters())
    groups = [(latents, lr.latent), (decoders, lr.decoder), (priors, lr.prior), (floats, 1.0)]
    return [{"params": ps, "lr_scale": k} for ps, k in groups if ps]


def train_pack(pack: ScenePack, datasets: dict[int, SceneDataset], cfg: TrainConfig, lam: float,
               lr: LrScales = LrScales(), device: torch.device | str = "cpu", progress: bool = False,
               log_every: int = 50) -> PackTrainResult:
    """Optimise the scenes in ``datasets`` (index → train split) and, unless the base is frozen, the
    shared latents, decoders and priors, for ``cfg.iters`` steps (Adam, exponential lr decay).

    Fitting a new scene against a frozen base is the same call with only that scene listed: the
    shared part is fixed (it has no prior, so contributes no bits) and only ``R_new``, its floats and
    its prior are trained. ``pack`` is left in eval mode.
    """
    scenes = sorted(datasets)
    pack.to(device).train()
    optimizer = torch.optim.Adam(_param_groups(pack, scenes, lr), lr=cfg.lr)
    rays = {s: _Rays(datasets[s], device) for s in scenes}
    gen = torch.Generator().manual_seed(cfg.seed)
    denom = len(scenes) * pack.params_per_scene()
    result = PackTrainResult(steps=cfg.iters, seconds=0.0)
    t0 = time.perf_counter()
    bar = tqdm(range(cfg.iters), disable=not progress, desc="pack", leave=False)
    for step in bar:
        scheduled = cfg.lr * (cfg.lr_final / cfg.lr) ** (step / max(1, cfg.iters))
        for group in optimizer.param_groups:
            group["lr"] = scheduled * group["lr_scale"]
        mse_total = torch.zeros((), device=device)
        loss = torch.zeros((), device=device)
        for s in scenes:
            o, d, target = rays[s].batch(cfg.batch_rays, gen)
            out = pack(s, o, d, generator=gen)
            mse = torch.mean((out["rgb"] - target) ** 2)
            loss = loss + mse
            if pack.template.fine is not None:
                loss = loss + torch.mean((out["rgb_coarse"] - target) ** 2)
            mse_total = mse_total + mse.detach()
        bits = pack_rate_bits(pack, scenes, noisy=True)
        if lam:
            loss = loss + lam * bits / denom
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        done = step + 1
        if done % log_every == 0 or done == cfg.iters:
            mean_mse = mse_total.item() / len(scenes)
            result.history.append({"step": done, "loss": loss.item(), "mse": mean_mse,
                                   "psnr": mse_to_psnr(mean_mse), "rate_bits": bits.item()})
            bar.set_postfix(psnr=f"{result.history[-1]['psnr']:.2f}")
    result.seconds = time.perf_counter() - t0
    pack.cpu().eval()
    return result


def add_frozen_scene(pack: ScenePack, dataset: SceneDataset, cfg: TrainConfig, lam: float,
                     lr: LrScales = LrScales(), device: torch.device | str = "cpu",
                     progress: bool = False) -> tuple[int, PackTrainResult]:
    """Fit a new scene (``R_new``, floats, prior) against the frozen shared part; returns its index."""
    pack.freeze()
    s = pack.add_scene([torch.from_numpy(a.copy()) for a in pack.base_floats()])
    return s, train_pack(pack, {s: dataset}, cfg, lam, lr, device, progress)


def scene_psnrs(pack: ScenePack, datasets: dict[int, SceneDataset], chunk: int = 8192) -> dict[int, float]:
    """Mean PSNR of each scene's eval (receiver-exact) model over the given views."""
    from nwcodec.nerf.evaluate import evaluate_dataset

    return {s: float(evaluate_dataset(pack.scene_model(s), ds, chunk)[0]["mean_psnr"]) for s, ds in datasets.items()}

