"""Optimizer parameter groups and learning-rate schedules shared by every strategy."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

NO_DECAY_MARKERS = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


def decay_groups(named_parameters: Iterable[tuple[str, nn.Parameter]], weight_decay: float) -> list[dict]:
    """Trainable parameters split into decayed weights and undecayed biases / norm scales."""
    decay, no_decay = [], []
    for name, param in named_parameters:
        if not param.requires_grad:
            continue
        (no_decay if any(marker in name for marker in NO_DECAY_MARKERS) else decay).append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def linear_warmup_decay(
    optimizer: torch.optim.Optimizer, total_steps: int, warmup_ratio: float = 0.1
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up over `warmup_ratio` of the steps, then linear decay to 0 (BERT's schedule)."""
    total_steps = max(1, int(total_steps))
    warmup = int(warmup_ratio * total_steps)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def slanted_triangular(
    optimizer: torch.optim.Optimizer, total_steps: int, cut_frac: float = 0.1, ratio: float = 32.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """ULMFiT's slanted triangular learning rate (Howard & Ruder 2018, eq. 3).

    A short linear rise over the first `cut_frac` of the steps, then a long linear fall, so the
    model first moves quickly to a good region and then refines. With cut = ⌊T · cut_frac⌋:
    p = t / cut before the cut, else 1 − (t − cut) / (cut · (1/cut_frac − 1)); the factor is
    (1 + p · (ratio − 1)) / ratio, so the smallest rate is 1/ratio of each group's own rate.
    """
    if not 0.0 < cut_frac < 1.0:
        raise ValueError(f"cut_frac must lie in (0, 1), got {cut_frac}")
    if ratio < 1.0:
        raise ValueError(f"ratio (largest over smallest learning rate) must be >= 1, got {ratio}")
    cut = max(1, int(max(1, int(total_steps)) * cut_frac))
    fall = cut * (1.0 / cut_frac - 1.0)

    def factor(step: int) -> float:
        p = step / cut if step < cut else max(0.0, 1.0 - (step - cut) / fall)
        return (1.0 + p * (ratio - 1.0)) / ratio

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
