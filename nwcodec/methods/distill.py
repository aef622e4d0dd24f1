"""Knowledge distillation from the uncompressed model: the loss every compressing fine-tune can use."""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn


def distill_loss(logits: torch.Tensor, teacher: nn.Module, x: torch.Tensor, ce: torch.Tensor, weight: float,
                 temperature: float) -> torch.Tensor:
    """``(1 - weight) * ce + weight * T^2 * KL(teacher_T || student_T)`` (Hinton et al. 2015): the
    compressed model also matches the float model's soft predictions at temperature ``T``."""
    with torch.no_grad():
        soft = F.log_softmax(teacher(x) / temperature, dim=1)
    kl = F.kl_div(F.log_softmax(logits / temperature, dim=1), soft, log_target=True, reduction="batchmean")
    return (1.0 - weight) * ce + weight * temperature ** 2 * kl


def frozen_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with no trainable parameters (the teacher)."""
    teacher = copy.deepcopy(model).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher
