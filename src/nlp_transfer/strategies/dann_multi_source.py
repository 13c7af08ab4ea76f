"""Multi-source DANN: one (k + 1)-way domain discriminator over k pooled sources and the target.

With `domain.source=[books,dvd,electronics] domain.target=kitchen`, every training batch holds an equal
share of each source (data/balanced_sources.py) and each source row its source index. The discriminator,
behind gradient reversal, names each row's domain among source 1 … source k and the target
(adaptation/multi_domain_adversarial.py: per-domain-averaged cross-entropy; Chen & Cardie 2018, Zhao et
al. 2018). Loss = CE(source labels) + w · L_d, with DANN's reversal schedule
λ_p = lambda_max · (2 / (1 + exp(−γ p)) − 1) (Ganin et al. 2016).

Pushing the encoder to confuse all k + 1 domains aligns every source with the target and with each other,
rather than the pooled sources as one blob (what plain DANN on pooled data does). On NER every real
token is a row, with its sentence's source index (feature alignment reads no prediction, so not words only,
as in DANN). With one source it is DANN with a 2-way softmax.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nlp_transfer.adaptation.multi_domain_adversarial import MultiDomainAdversarialLoss
from nlp_transfer.adaptation.schedules import ganin_lambda
from nlp_transfer.models.backbone import hidden_size
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows


class DANNMultiSourceModule(DomainAdaptationModule):
    """Shared encoder + label classifier + a (num_sources + 1)-way domain discriminator behind reversal.

    Args (beyond `DomainAdaptationModule`):
        discriminator: factory `discriminator(in_features=..., out_features=...)` for the domain classifier.
        num_sources: k, the number of source domains (the config reads it off `domain.source`).
        lambda_gamma: γ of the λ schedule (10 in Ganin et al. 2016).
        lambda_max: final value of λ.
    """

    def __init__(
        self,
        *args: Any,
        discriminator: Callable[..., nn.Module],
        num_sources: int = 1,
        lambda_gamma: float = 10.0,
        lambda_max: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        head = discriminator(in_features=hidden_size(self.encoder), out_features=num_sources + 1)
        self.domain_adversarial = MultiDomainAdversarialLoss(head, num_sources)
        self.num_sources = num_sources
        self.lambda_gamma = lambda_gamma
        self.lambda_max = lambda_max

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """L_d over the source rows (labelled by their source index) and the target rows.

        Raises:
            ValueError: several sources configured but the batches carry no `source_index`.
        """
        origin = rows.source_origin
        if origin is None:
            if self.num_sources != 1:
                raise ValueError(
                    f"{type(self).__name__} was built for {self.num_sources} sources, but its source batches "
                    "carry no `source_index`: pass the sources as a list, domain.source=[a,b,...]."
                )
            origin = torch.zeros(
                len(rows.source_features), dtype=torch.long, device=rows.source_features.device
            )
        lam = ganin_lambda(self.progress, self.lambda_gamma, self.lambda_max)
        self.domain_adversarial.grl.coeff = lam
        loss, accuracy = self.domain_adversarial(rows.source_features, origin, rows.target_features)
        return loss, {"domain_acc": accuracy, "lambda": lam}
