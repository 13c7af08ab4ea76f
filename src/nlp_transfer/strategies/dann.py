"""DANN: domain-adversarial training (Ganin et al. 2016, "Domain-Adversarial Training of Neural Networks").

Each step takes a labeled source batch and an unlabeled target batch. The encoder's pooled
features feed the label classifier (source only) and, through gradient reversal, a domain
discriminator (source vs target). Loss = CE(source) + w · BCE(domain), with the reversal
coefficient λ_p = 2/(1+exp(−γp)) − 1 rising over training progress p.

On token-level tasks (NER) the discriminator sees every real token's features (padding masked
out), so the encoder is pushed to make each token's representation domain-invariant. It reads no
prediction, so it keeps every real token rather than words only (`word_rows`): it aligns the encoder's
representation of every token, sub-word pieces and special tokens included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nlp_transfer.adaptation.dann import DomainAdversarialLoss
from nlp_transfer.adaptation.schedules import ganin_lambda
from nlp_transfer.models.backbone import hidden_size
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows, TargetLabelLeakError

__all__ = ["DANNModule", "TargetLabelLeakError"]


class DANNModule(DomainAdaptationModule):
    """Shared encoder + label classifier + domain discriminator behind gradient reversal.

    Args (beyond `DomainAdaptationModule`):
        discriminator: factory `discriminator(in_features=...)` for the domain classifier.
        lambda_gamma: γ of the λ schedule (10 in the paper).
        lambda_max: final value of λ (1 in the paper).
    """

    def __init__(
        self,
        *args: Any,
        discriminator: Callable[..., nn.Module],
        lambda_gamma: float = 10.0,
        lambda_max: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.domain_adversarial = DomainAdversarialLoss(discriminator(in_features=hidden_size(self.encoder)))
        self.lambda_gamma = lambda_gamma
        self.lambda_max = lambda_max

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """BCE of the discriminator on the reversed features; λ_p follows Ganin's schedule."""
        lam = ganin_lambda(self.progress, self.lambda_gamma, self.lambda_max)
        self.domain_adversarial.grl.coeff = lam
        loss, accuracy = self.domain_adversarial(rows.source_features, rows.target_features)
        return loss, {"domain_acc": accuracy, "lambda": lam}
