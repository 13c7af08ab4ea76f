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
