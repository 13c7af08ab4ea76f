"""Batch Nuclear-norm Maximization (Cui et al. 2020, CVPR, "Towards Discriminability and Diversity: Batch
Nuclear-norm Maximization under Label Insufficient Situations").

For the (B, K) softmax predictions A of a target batch, the nuclear norm ‖A‖_* (the sum of A's singular
values) bounds the Frobenius norm, which grows as rows grow confident (discriminability), and approximates
the rank of A, which grows as the batch predicts more distinct classes (diversity). Maximising it
pushes towards confident predictions that do not collapse onto a few classes:

    L_BNM = −‖A‖_* / B

The SVD runs in float32 outside autocast: there is no bf16 SVD, and its gradient, which divides by
differences of singular values, is unstable in low precision.
"""

from __future__ import annotations

import torch
from torch import nn

from nlp_transfer.adaptation.full_precision import at_least_float32, float32_region


def nuclear_norm(matrix: torch.Tensor) -> torch.Tensor:
    """(B, K) → () the sum of singular values, in float32 or wider (autocast off)."""
    if matrix.dim() != 2:
        raise ValueError(f"a nuclear norm needs a (rows, columns) matrix, got {tuple(matrix.shape)}")
    with float32_region(matrix):
        return torch.linalg.svdvals(at_least_float32(matrix)).sum()


class BatchNuclearNormLoss(nn.Module):
    """L_BNM = −‖softmax(logits)‖_* / B of (B, K) target logits, in [−1, 0).

    (‖A‖_* ≤ √rank · ‖A‖_F ≤ √min(B, K) · √B, each softmax row having norm ≤ 1.)

    Raises:
        ValueError: logits that are not (B ≥ 1, K).
    """

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2 or len(logits) == 0:
            raise ValueError(f"BNM needs (rows ≥ 1, classes) logits, got {tuple(logits.shape)}")
        with float32_region(logits):
            probabilities = torch.softmax(at_least_float32(logits), dim=1)
        return -nuclear_norm(probabilities) / len(logits)
