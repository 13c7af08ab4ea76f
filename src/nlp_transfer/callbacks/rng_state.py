"""The global random generators' states, as a checkpoint can hold them and a resumed run restores them.

Dropout and the adaptation strategies' row subsampling draw from the global generators, and Lightning's
checkpoints do not hold their states: a run resumed mid-epoch would draw other dropout masks than the
uninterrupted run from its next step on. (Each epoch start reseeds them: strategies/base.py.) Only
plain types and tensors, so `torch.load(weights_only=True)` reads them back.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch


def capture_rng_states() -> dict[str, Any]:
    """torch (CPU and every initialised CUDA device), numpy and Python `random` states."""
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    states: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": (kind, keys.tolist(), int(position), int(has_gauss), float(cached_gaussian)),
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    """Put back what `capture_rng_states` returned (CUDA states only for devices this process has)."""
    torch.set_rng_state(states["torch"])
    kind, keys, position, has_gauss, cached_gaussian = states["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached_gaussian))
    version, internal, gauss_next = states["python"]
    random.setstate((version, tuple(internal), gauss_next))
    if states.get("cuda") and torch.cuda.is_available():
        for device, state in enumerate(states["cuda"][: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(state, device)
