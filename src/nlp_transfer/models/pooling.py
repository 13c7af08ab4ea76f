"""Pooling token features into one vector per sequence."""

from __future__ import annotations

import torch


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, method: str) -> torch.Tensor:
    """(batch, seq, dim) → (batch, dim): `cls` takes position 0, `mean` averages the real tokens."""
    if method == "cls":
        return hidden[:, 0]
    if method == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    raise ValueError(f"Unknown pooling {method!r}; choose 'cls' or 'mean'")
