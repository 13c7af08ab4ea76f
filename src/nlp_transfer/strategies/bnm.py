"""BNM: Batch Nuclear-norm Maximization (Cui et al. 2020, CVPR, "Towards Discriminability and Diversity:
Batch Nuclear-norm Maximization under Label Insufficient Situations").

The encoder is trained to raise the nuclear norm of the target batch's softmax predictions, which
rewards confident rows (discriminability) spread over many classes (diversity), where plain entropy
minimisation would happily collapse onto the majority class. Loss = CE(source) + w(p) · L_BNM with
L_BNM = −‖softmax(target logits)‖_* / B (`nlp_transfer.adaptation.bnm`). Only target predictions enter
the loss: no target label, and no source row.

At token level (NER) a row of the matrix is a target word (its first sub-token, `word_rows`), with its own
softmax over tags: the classifier is trained and scored on those rows only, so its predictions on other
sub-word pieces and special tokens mean nothing and would only weigh on the nuclear norm.
"""

from __future__ import annotations

from typing import Any

import torch

from nlp_transfer.adaptation.bnm import BatchNuclearNormLoss
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows


class BNMModule(DomainAdaptationModule):
    """Encoder + classifier, with −‖softmax(target logits)‖_* / B as the domain loss."""

    word_rows = True  # token level: the loss reads predictions, made for words only

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.nuclear_norm_loss = BatchNuclearNormLoss()

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """L_BNM of the target logit rows; source rows and features play no part."""
        return self.nuclear_norm_loss(rows.target_logits), {}
