"""CDAN: conditional domain-adversarial training (Long et al. 2018, NeurIPS).

Like DANN, a discriminator behind gradient reversal learns to tell source from target, and the
encoder learns to fool it. Unlike DANN, the discriminator sees the multilinear map f ⊗ g of the
features f and the classifier's softmax predictions g, so what is aligned is the joint of features
and predicted classes, not the features alone: two domains with the same feature mixture but
classes placed differently are no longer indistinguishable. CDAN+E weights each row's domain loss
by 1 + e^{−H(g)}, trusting confident predictions more.

Loss = CE(source) + w · BCE(domain), with the reversal coefficient λ_p = 2/(1+exp(−γp)) − 1.
At token level (NER) a row is a word (its first sub-token, `word_rows`): its features and its own softmax
over tags. The classifier is trained and scored on those rows only, so its predictions on other sub-word
pieces and special tokens mean nothing to condition on; the features follow the same rows, because each row
of f ⊗ g must pair a token's features with that token's prediction, and the discriminator must see the
same kind of row from both domains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nlp_transfer.adaptation.cdan import ConditionalDomainAdversarialLoss, multilinear_map
from nlp_transfer.adaptation.schedules import ganin_lambda
from nlp_transfer.models.backbone import hidden_size
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows


class CDANModule(DomainAdaptationModule):
    """Encoder + classifier + discriminator on the (randomized) multilinear map, behind gradient reversal.

    Args (beyond `DomainAdaptationModule`):
        discriminator: factory `discriminator(in_features=...)`; in_features is the map's output size.
        entropy_conditioning: CDAN+E's weights 1 + e^{−H(g)} (True) or plain CDAN (False).
        randomized: use the randomized multilinear map; None chooses it when features·classes > max_map_dim.
        max_map_dim: largest d·c for which the full map is used when `randomized` is None (4096 in the
            authors' code).
        randomized_dim: output size of the randomized map (1024 in the paper).
        lambda_gamma: γ of the λ schedule (10, as in DANN).
        lambda_max: final value of λ.
    """

    word_rows = True  # token level: f ⊗ g conditions on predictions, made for words only

    def __init__(
        self,
        *args: Any,
        discriminator: Callable[..., nn.Module],
        entropy_conditioning: bool = True,
        randomized: bool | None = None,
        max_map_dim: int = 4096,
        randomized_dim: int = 1024,
        lambda_gamma: float = 10.0,
        lambda_max: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        feature_map = multilinear_map(
            hidden_size(self.encoder), len(self.label_names), randomized, max_map_dim, randomized_dim
        )
        self.conditional_adversarial = ConditionalDomainAdversarialLoss(
            discriminator(in_features=feature_map.out_dim), feature_map, entropy_conditioning
        )
        self.lambda_gamma = lambda_gamma
        self.lambda_max = lambda_max

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """Discriminator BCE on f ⊗ softmax(logits) of both domains, reversed with Ganin's λ_p."""
        lam = ganin_lambda(self.progress, self.lambda_gamma, self.lambda_max)
        self.conditional_adversarial.grl.coeff = lam
        loss, accuracy = self.conditional_adversarial(
            rows.source_features, rows.target_features, rows.source_logits, rows.target_logits
        )
        return loss, {"domain_acc": accuracy, "lambda": lam}
