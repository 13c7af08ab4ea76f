"""Minimum Class Confusion (Jin et al. 2020, ECCV, "Minimum Class Confusion for Versatile Domain
Adaptation", §3).

On a batch of B target rows with logits z (B, K):

    Ŷ = softmax(z / T)                                   temperature rescaling (T = 2.5 in the paper)
    H_i = −Σ_k Ŷ_ik log Ŷ_ik,   W_ii = B (1 + e^{−H_i}) / Σ_j (1 + e^{−H_j})   uncertainty reweighting
    C = Ŷᵀ W Ŷ                                           (K, K) class correlation
    C̃_jk = C_jk / Σ_k' C_jk'                             category normalization (each row sums to 1)
    L_MCC = (Σ_jk C̃_jk − Σ_j C̃_jj) / K                   mean confusion between different classes

C_jk sums, over rows, how much each row votes for classes j and k at once: a model that confuses the two
classes on the target has a large C_jk. Since every row of C̃ sums to 1, L_MCC = 1 − mean_j C̃_jj ∈ [0, 1).
The weights W are detached, as in the authors' code: they say which rows to trust, they are not trained.
The loss needs no labels and no source rows.
"""

from __future__ import annotations

import torch
from torch import nn

from nlp_transfer.adaptation.full_precision import at_least_float32, float32_region


def entropy_weights(probabilities: torch.Tensor) -> torch.Tensor:
    """(B, K) → (B,) W_ii = B (1 + e^{−H_i}) / Σ_j (1 + e^{−H_j}), detached (they sum to B)."""
    probabilities = probabilities.detach()
    entropy = -torch.special.xlogy(probabilities, probabilities).sum(dim=1)
    weights = 1.0 + torch.exp(-entropy)
    return len(weights) * weights / weights.sum()


def class_confusion(logits: torch.Tensor, temperature: float = 2.5) -> torch.Tensor:
    """(B, K) logits → (K, K) category-normalised class confusion C̃ (rows sum to 1), in float32 or wider."""
    with float32_region(logits):  # a bf16 softmax/matmul would blur the small off-diagonal confusions
        probabilities = torch.softmax(at_least_float32(logits) / temperature, dim=1)
        weighted = probabilities * entropy_weights(probabilities)[:, None]
        correlation = weighted.T @ probabilities
        return correlation / correlation.sum(dim=1, keepdim=True)


class MinimumClassConfusionLoss(nn.Module):
    """L_MCC of (B, K) target logits: the off-diagonal mass of C̃ over K.

    Args:
        temperature: T of the rescaled softmax (2.5 in the paper; T > 1 softens overconfident rows).

    Raises:
        ValueError: a non-positive temperature, or logits that are not (B ≥ 1, K ≥ 2).
    """

    def __init__(self, temperature: float = 2.5) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"MCC temperature must be positive, got {temperature} (the paper uses 2.5)")
        self.temperature = temperature

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2 or len(logits) == 0 or logits.shape[1] < 2:
            raise ValueError(f"MCC needs (rows ≥ 1, classes ≥ 2) logits, got {tuple(logits.shape)}")
        confusion = class_confusion(logits, self.temperature)
        return (confusion.sum() - confusion.trace()) / confusion.shape[0]

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"
