"""Prediction entropy on unlabeled target text (Morerio et al. 2018, "Minimal-Entropy Correlation
Alignment for Unsupervised Deep Domain Adaptation", ICLR): a model that is confident on the target is
preferred, so lower is better.

Known failure: a model that collapses onto one class is perfectly confident; `info_max` guards
against that.
"""

from __future__ import annotations

import torch

from nlp_transfer.selection.validator import Validator
from nlp_transfer.strategies.outputs import ModelOutputs


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """H(p) = −Σ_c p_c log p_c over the last dimension, in nats (0 · log 0 taken as 0)."""
    probs = probs.double()
    return -(probs * torch.log(probs.clamp_min(1e-30))).sum(dim=-1)


class EntropyValidator(Validator):
    """Mean entropy of the target predictions: over texts, or over words at token level."""

    name = "entropy"
    higher_is_better = False

    def __call__(self, target_unlabeled: ModelOutputs) -> float:
        return float(entropy(target_unlabeled.probs).mean())
