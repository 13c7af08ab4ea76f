"""Domain discriminators: small MLPs that tell source features from target features."""

from __future__ import annotations

import torch
from torch import nn


class DomainDiscriminator(nn.Module):
    """MLP (in → hidden → hidden → 1 logit), as in DANN's domain classifier (Ganin et al. 2016).

    `out_features` > 1 makes it a multi-class domain classifier (one logit per domain; multi-source DANN).
    """

    def __init__(
        self,
        in_features: int,
        hidden_dim: int = 256,
        num_layers: int = 2,
        dropout: float = 0.1,
        out_features: int = 1,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_dim), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden_dim
        layers.append(nn.Linear(width, out_features))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, in_features) → (batch,) logits of 'comes from the source domain'; (batch, out_features)
        when `out_features` > 1."""
        logits = self.net(features)
        return logits.squeeze(-1) if logits.shape[-1] == 1 else logits
