"""Schedules for adaptation-loss coefficients over training progress p ∈ [0, 1]."""

from __future__ import annotations

import math


def ganin_lambda(progress: float, gamma: float = 10.0, max_value: float = 1.0) -> float:
    """λ_p = max_value · (2 / (1 + exp(−γ·p)) − 1), Ganin et al. 2016, §5.2.2 (γ = 10).

    It rises from 0 at p = 0 to ≈ max_value at p = 1, which keeps the discriminator's noisy
    early gradients from swamping the encoder. `progress` is clipped to [0, 1].
    """
    p = min(max(progress, 0.0), 1.0)
    return max_value * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


WARMUPS = ("ganin", "linear", "constant")


def check_warmup(warmup: str) -> None:
    """Fail at construction, not at the first training step, on an unknown warm-up name."""
    if warmup not in WARMUPS:
        raise ValueError(f"warmup must be one of {WARMUPS}, got {warmup!r} (e.g. `strategy.warmup=ganin`)")


def warmup_factor(progress: float, warmup: str = "constant", gamma: float = 10.0) -> float:
    """Multiplier in [0, 1] for a domain loss's weight at training progress p.

    `ganin`: 2 / (1 + exp(−γp)) − 1 (Ganin et al. 2016, the λ_p ramp, here on the loss weight);
    `linear`: p; `constant`: 1 (the loss counts fully from the first step, as in DAN and Deep CORAL).
    A ramp keeps an alignment loss computed on still-untrained features from dominating early steps.
    """
    check_warmup(warmup)
    p = min(max(progress, 0.0), 1.0)
    if warmup == "ganin":
        return ganin_lambda(p, gamma)
    return p if warmup == "linear" else 1.0
