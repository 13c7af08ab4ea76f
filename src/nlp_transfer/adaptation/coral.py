"""Deep CORAL (Sun & Saenko 2016, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation", eq. 1).

    ℓ_CORAL = ‖C_S − C_T‖²_F / (4 d²)

with C the (d, d) feature covariance of each domain's batch (eq. 2–3, normalised by n − 1).
Matching second-order statistics ignores the means, so a pure shift between domains costs nothing.
"""

from __future__ import annotations

import torch
from torch import nn


def covariance(rows: torch.Tensor) -> torch.Tensor:
    """(n, d) → (d, d) unbiased sample covariance (divides by n − 1, as in the paper)."""
    centred = rows - rows.mean(dim=0, keepdim=True)
    return centred.T @ centred / (len(rows) - 1)


class CoralLoss(nn.Module):
    """‖C_S − C_T‖²_F / (4 d²) between source rows (n, d) and target rows (m, d).

    Raises:
        ValueError: samples of different width, or fewer than 2 rows in a domain (no covariance).
    """

    min_rows = 2

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if source.dim() != 2 or target.dim() != 2 or source.shape[1] != target.shape[1]:
            raise ValueError(
                f"CORAL needs (n, d) and (m, d) rows, got {tuple(source.shape)} and {tuple(target.shape)}"
            )
        if min(len(source), len(target)) < self.min_rows:
            raise ValueError(f"CORAL needs ≥ 2 rows per domain, got {len(source)} and {len(target)}")
        d = source.shape[1]
        dtype = torch.promote_types(source.dtype, torch.float32)  # bf16 covariances lose the signal
        difference = covariance(source.to(dtype)) - covariance(target.to(dtype))
        return difference.pow(2).sum() / (4.0 * d * d)
