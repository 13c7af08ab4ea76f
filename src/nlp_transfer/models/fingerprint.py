"""A short fingerprint of a model's weights, so that cached features of one model never serve another."""

from __future__ import annotations

import hashlib

import torch
from torch import nn


def weights_fingerprint(module: nn.Module, samples_per_tensor: int = 16) -> str:
    """sha256 over every state-dict entry's name, shape, dtype, exact sum and a strided sample of values.

    Cheaper than hashing every byte (one reduction per tensor, tens of milliseconds for MiniLM) and,
    unlike name and shape alone, it tells apart two checkpoints of one architecture: fine-tuning moves
    every sum, and a random re-initialisation moves the sampled values.
    """
    digest = hashlib.sha256()
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            digest.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
            flat = tensor.detach().reshape(-1)
            if flat.numel() == 0:
                continue
            step = max(1, flat.numel() // samples_per_tensor)
            digest.update(float(flat.sum(dtype=torch.float64)).hex().encode())
            digest.update(flat[::step].to("cpu", torch.float64).numpy().tobytes())
    return digest.hexdigest()[:32]
