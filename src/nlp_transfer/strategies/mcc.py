"""MCC: Minimum Class Confusion (Jin et al. 2020, ECCV, "Minimum Class Confusion for Versatile Domain
Adaptation").

No discriminator and no feature alignment: the encoder is trained so that its target predictions stop
confusing classes with each other. Loss = CE(source) + w(p) · L_MCC(target logits), with L_MCC the
off-diagonal mass of the entropy-weighted, category-normalised class-correlation matrix of the
temperature-scaled target softmax (`nlp_transfer.adaptation.mcc`). Only target *predictions* enter the
loss: no target label, and no source row.

At token level (NER) a row is a target word (its first sub-token, `word_rows`), with its own softmax over
tags: the classifier is trained and scored on those rows only, so its predictions on other sub-word pieces
and special tokens mean nothing and would only add noise to the class-correlation matrix.
"""

from __future__ import annotations

from typing import Any

import torch

from nlp_transfer.adaptation.mcc import MinimumClassConfusionLoss
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows


class MCCModule(DomainAdaptationModule):
    """Encoder + classifier, with the class confusion of target predictions as the domain loss.

    Args (beyond `DomainAdaptationModule`):
        temperature: T of the rescaled target softmax (2.5 in the paper).
    """

    word_rows = True  # token level: the loss reads predictions, made for words only

    def __init__(self, *args: Any, temperature: float = 2.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.class_confusion = MinimumClassConfusionLoss(temperature)

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """L_MCC of the target logit rows; source rows and features play no part."""
        return self.class_confusion(rows.target_logits), {}
