"""Soft Neighborhood Density (Saito et al. 2021, ICCV, "Tune it the Right Way: Unsupervised Validation of
Domain Adaptation via Soft Neighborhood Density").

A good adapted model maps target texts into dense clusters: each one has neighbours it is close to, so its
soft neighbourhood is spread over many of them. On the (n, K) target softmax predictions p:

    f_i = p_i / ‖p_i‖₂,   S_ij = f_i · f_j (i ≠ j),   N_ij = softmax_{j ≠ i}(S_ij / τ),   τ = 0.05
    SND = mean_i H(N_i) = −mean_i Σ_j N_ij log N_ij

Higher is better. Self-similarity is excluded exactly (the authors' code sets it to −1/τ instead, which
leaves it a weight of about e^{−40}). At token level (NER) each word (its first sub-token: `ModelOutputs`
rows) is a row; as the n × n similarity matrix is quadratic, at most `max_rows` rows are used
(`selection.subsample.fixed_subset`).
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from nlp_transfer.selection.subsample import fixed_subset
from nlp_transfer.selection.validator import Validator, ValidatorUndefined
from nlp_transfer.strategies.outputs import ModelOutputs


def soft_neighborhood_density(probs: torch.Tensor, temperature: float = 0.05) -> torch.Tensor:
    """(n, K) probabilities → () mean entropy of each row's softmax over its neighbours' similarities."""
    normalized = F.normalize(probs.double(), dim=1)
    similarity = normalized @ normalized.T / temperature
    similarity.fill_diagonal_(-torch.inf)
    neighbours = similarity.softmax(dim=1)
    return -torch.special.xlogy(neighbours, neighbours).sum(dim=1).mean()


class SNDValidator(Validator):
    """Mean soft-neighbourhood entropy of the target predictions (higher is better).

    Args:
        temperature: τ of the neighbour softmax (0.05 in the paper).
        max_rows: at most this many rows (random, seed 0) enter the n × n similarity matrix.
    """

    name = "snd"
    higher_is_better = True

    def __init__(self, temperature: float = 0.05, max_rows: int = 4096) -> None:
        if temperature <= 0 or max_rows < 2:
            raise ValueError(f"snd needs temperature > 0 and max_rows ≥ 2, got {temperature}, {max_rows}")
        self.temperature = temperature
        self.max_rows = max_rows

    def __call__(self, target_unlabeled: ModelOutputs) -> float:
        probs = target_unlabeled.probs
        if len(probs) < 2:
            raise ValidatorUndefined(f"snd needs at least 2 target rows (a neighbour), got {len(probs)}")
        kept = probs[fixed_subset(len(probs), self.max_rows)]
        return float(soft_neighborhood_density(kept, self.temperature))
