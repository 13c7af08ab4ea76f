"""Deep CORAL (Sun & Saenko 2016, "Deep CORAL: Correlation Alignment for Deep Domain Adaptation", eq. 1).

    ℓ_CORAL = ‖C_S − C_T‖²_F / (4 d²)

with C the (d, d) feature covariance of each domain's batch (eq. 2–3, normalised by n − 1).
Matching second-order statistics ignores the means, so a pure shift between domains costs nothing.
"""

from __future__ import annotations

import torch
from torch import nn

from nlp_transfer.adaptation.full_precision import at_least_float32, float32_region


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
        with float32_region(source):  # bf16 covariances lose the signal, and autocast would make them bf16
            difference = covariance(at_least_float32(source)) - covariance(at_least_float32(target))
            return difference.pow(2).sum() / (4.0 * d * d)
