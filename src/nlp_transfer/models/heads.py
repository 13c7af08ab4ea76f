"""Task heads that sit on pooled backbone features."""

from __future__ import annotations

import torch
from torch import nn


class ClassificationHead(nn.Module):
    """Dropout → (optional hidden layer) → linear to `num_labels` logits."""

    def __init__(
        self, in_features: int, num_labels: int, hidden_dim: int | None = None, dropout: float = 0.1
    ):
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        if hidden_dim:
            layers += [nn.Linear(in_features, hidden_dim), nn.GELU(), nn.Dropout(dropout)]
            in_features = hidden_dim
        layers.append(nn.Linear(in_features, num_labels))
        self.net = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)
