"""The DANN domain-adversarial loss (Ganin et al. 2016, JMLR 17(59), eq. 9–10)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from nlp_transfer.models.gradient_reversal import GradientReversal


class DomainAdversarialLoss(nn.Module):
    """Binary cross-entropy of a discriminator placed behind gradient reversal.

    Takes source features (b_s, d) and target features (b_t, d); the discriminator is passed in.
    Minimising the returned loss trains the discriminator to tell the domains apart while the
    reversed gradient trains the features to make them indistinguishable. Set `coeff` (λ) on
    `self.grl` from a schedule before each step.
    """

    def __init__(self, discriminator: nn.Module) -> None:
        super().__init__()
        self.discriminator = discriminator
        self.grl = GradientReversal()

    def forward(self, source: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (loss, discriminator accuracy); domain label 1 = source, 0 = target."""
        features = self.grl(torch.cat([source, target], dim=0))
        logits = self.discriminator(features)
        labels = torch.cat([logits.new_ones(len(source)), logits.new_zeros(len(target))])
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        accuracy = ((logits > 0).to(labels.dtype) == labels).float().mean()
        return loss, accuracy.detach()
