"""A multi-class domain-adversarial loss for several sources and one target.

One discriminator D with k + 1 outputs (source 1 … source k, target) sits behind gradient reversal, as
in the multinomial adversarial network of Chen & Cardie 2018 ("Multinomial Adversarial Networks for
Multi-Domain Text Classification", NAACL; its NLL variant) and the multi-source setting of Zhao et al.
2018 ("Adversarial Multiple Source Domain Adaptation", NeurIPS), whose bound it targets with one
discriminator instead of k binary ones. With rows r of domain d_r ∈ {0 … k} (the target is k):

    L_d = 1/|P| · Σ_{d ∈ P} mean_{r : d_r = d} −log softmax(D(R_λ(f_r)))_d

P = the domains with rows in the step: every domain weighs the same, whatever its row count (a target
batch holds as many texts as all sources together). Minimising L_d trains D to name each row's domain;
the reversed gradient R_λ trains the encoder to make the k + 1 domains indistinguishable. With k = 1
it is DANN's loss written as a 2-way softmax, per-domain averaged.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from nlp_transfer.models.gradient_reversal import GradientReversal


class MultiDomainAdversarialLoss(nn.Module):
    """Per-domain-averaged cross-entropy of a (k + 1)-way discriminator behind gradient reversal.

    Args:
        discriminator: maps (rows, d) features to (rows, num_sources + 1) logits.
        num_sources: k; domain labels are 0 … k − 1 for the sources and k for the target.
    """

    def __init__(self, discriminator: nn.Module, num_sources: int) -> None:
        super().__init__()
        if num_sources < 1:
            raise ValueError(f"num_sources must be at least 1, got {num_sources}")
        self.discriminator = discriminator
        self.num_sources = num_sources
        self.grl = GradientReversal()

    def forward(
        self, source: torch.Tensor, source_origin: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Source rows (n_s, d) with their source index (n_s,) in 0 … k − 1, target rows (n_t, d).

        Returns (L_d, discriminator accuracy over all rows).

        Raises:
            ValueError: a source index outside 0 … k − 1.
        """
        if len(source_origin) and (source_origin.min() < 0 or source_origin.max() >= self.num_sources):
            raise ValueError(
                f"source indices must lie in 0 … {self.num_sources - 1}, "
                f"got {source_origin.unique().tolist()}"
            )
        logits = self.discriminator(self.grl(torch.cat([source, target], dim=0)))
        target_label = source_origin.new_full((len(target),), self.num_sources)
        labels = torch.cat([source_origin.to(torch.long), target_label])
        per_row = F.cross_entropy(logits.float(), labels, reduction="none")
        per_domain = [per_row[labels == d].mean() for d in labels.unique()]
        accuracy = (logits.argmax(dim=-1) == labels).float().mean()
        return torch.stack(per_domain).mean(), accuracy.detach()
