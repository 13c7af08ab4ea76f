"""Optimizer parameter groups, learning-rate schedules and gradient clipping shared by every strategy."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

NO_DECAY_MARKERS = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


def steps_own_scaling(optimizer: torch.optim.Optimizer) -> bool:
    """Whether `optimizer.step()` unscales fp16 gradients itself (torch's fused Adam/AdamW/SGD do)."""
    return bool(getattr(optimizer, "_step_supports_amp_scaling", False))


def clip_gradients(
    optimizer: torch.optim.Optimizer,
    clip_val: float | None,
    algorithm: str | None,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Clip the gradients of `optimizer`'s parameters by total norm (default) or by value.

    Why here and not in Lightning: its mixed-precision plugin refuses to clip for an optimizer that unscales
    inside `step()` (a fused AdamW), because under fp16 loss scaling the gradients would still be scaled when
    clipped. Under bf16-mixed or 32-true there is no scaler: the gradients are the true ones and this is the
    clipping Lightning does for any other optimizer (`torch.nn.utils.clip_grad_norm_` over the optimizer's
    parameters). Under 16-mixed the scaler unscales first (`GradScaler.unscale_`, torch's documented order
    for clipping); the scaler then tells the fused step that the gradients are already unscaled.
    """
    if not clip_val or clip_val <= 0:
        return
    if scaler is not None:
        scaler.unscale_(optimizer)
    params = [p for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
    if str(algorithm or "norm").lower() == "value":
        torch.nn.utils.clip_grad_value_(params, clip_val)
    else:
        torch.nn.utils.clip_grad_norm_(params, clip_val)


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
