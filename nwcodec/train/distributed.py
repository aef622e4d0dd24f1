"""Data-parallel helpers: process-group setup from torchrun's env, gradient averaging, sync check."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistInfo:
    """This process's place in the job (world_size 1 when not launched by torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(use_cuda: bool) -> DistInfo:
    """Join the torchrun process group (NCCL on CUDA, gloo on CPU) when ``WORLD_SIZE > 1``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    info = DistInfo(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(info.local_rank)
    return info


def broadcast_parameters(model: nn.Module, info: DistInfo) -> None:
    """Make every rank start from rank 0's parameters and buffers."""
    if info.world_size > 1:
        for t in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(t.data, src=0)


def average_gradients(params: list[nn.Parameter], info: DistInfo) -> None:
    """All-reduce (mean) the gradients of ``params`` in one flat buffer."""
    if info.world_size <= 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world_size
    offset = 0
    for p, g in zip(params, grads):
        p.grad = flat[offset:offset + g.numel()].view_as(p).clone()
        offset += g.numel()


def replicas_in_sync(model: nn.Module, info: DistInfo) -> bool:
    """True when every rank holds bit-identical parameters (compares a float64 checksum)."""
    if info.world_size <= 1:
        return True
    with torch.no_grad():
        flat = torch.cat([p.detach().double().reshape(-1) for p in model.parameters()])
        sums = torch.stack([flat.sum(), (flat * torch.arange(flat.numel(), device=flat.device, dtype=torch.float64)).sum()])
    gathered = [torch.zeros_like(sums) for _ in range(info.world_size)]
    dist.all_gather(gathered, sums)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def shutdown(info: DistInfo) -> None:
    """Leave the process group, all ranks together: a rank that tears gloo down while rank 0 is still
    doing its main-only work (evaluation, coding, writing) could abort at exit."""
    if info.world_size > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
