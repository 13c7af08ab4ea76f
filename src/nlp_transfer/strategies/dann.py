"""DANN: domain-adversarial training (Ganin et al. 2016, "Domain-Adversarial Training of Neural Networks").

Each step takes a labeled source batch and an unlabeled target batch. The encoder's pooled
features feed the label classifier (source only) and, through gradient reversal, a domain
discriminator (source vs target). Loss = CE(source) + w · BCE(domain), with the reversal
coefficient λ_p = 2/(1+exp(−γp)) − 1 rising over training progress p.

On token-level tasks (NER) the discriminator sees every real token's features (padding masked
out), so the encoder is pushed to make each token's representation domain-invariant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from nlp_transfer.adaptation.dann import DomainAdversarialLoss
from nlp_transfer.adaptation.schedules import ganin_lambda
from nlp_transfer.models.backbone import hidden_size
from nlp_transfer.strategies.base import Batch, TransferModule


class TargetLabelLeakError(RuntimeError):
    """A training batch of target data carried labels: unsupervised adaptation must never see them."""


class DANNModule(TransferModule):
    """Shared encoder + label classifier + domain discriminator behind gradient reversal.

    Args (beyond `TransferModule`):
        discriminator: factory `discriminator(in_features=...)` for the domain classifier.
        domain_loss_weight: w, the weight of the domain loss.
        lambda_gamma: γ of the λ schedule (10 in the paper).
        lambda_max: final value of λ (1 in the paper).
    """

    uses_target_data = True

    def __init__(
        self,
        *args: Any,
        discriminator: Callable[..., nn.Module],
        domain_loss_weight: float = 1.0,
        lambda_gamma: float = 10.0,
        lambda_max: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.domain_adversarial = DomainAdversarialLoss(discriminator(in_features=hidden_size(self.encoder)))
        self.domain_loss_weight = domain_loss_weight
        self.lambda_gamma = lambda_gamma
        self.lambda_max = lambda_max

    def training_step(self, batch: dict[str, Batch], batch_idx: int) -> torch.Tensor:
        source, target = batch["source"], batch["target"]
        if "labels" in target:
            raise TargetLabelLeakError("DANN received target labels in a training batch; refusing to train.")
        source_features = self.features(source)
        target_features = self.features(target)
        class_loss = self.supervised_loss(self.head(source_features), source["labels"])

        lam = ganin_lambda(self.progress, self.lambda_gamma, self.lambda_max)
        self.domain_adversarial.grl.coeff = lam
        domain_loss, domain_acc = self.domain_adversarial(
            self.domain_features(source_features, source), self.domain_features(target_features, target)
        )
        loss = class_loss + self.domain_loss_weight * domain_loss

        size = len(source["input_ids"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log_dict(
            {
                "train/class_loss": class_loss,
                "train/domain_loss": domain_loss,
                "train/domain_acc": domain_acc,
                "train/lambda": lam,
            },
            batch_size=size,
        )
        return loss
