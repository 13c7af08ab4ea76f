"""What a validator may read about one split: the model's predictions and features, no labels."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class SplitOutputs:
    """A model's outputs on one split, gathered on the CPU.

    Attributes:
        probs: (rows, classes) softmax predictions; a row is a text (sequence level) or a real,
            non-padding token (token level, e.g. NER).
        features: (texts, dim) one feature vector per text: the pooled features the head reads at
            sequence level, the mean of the real tokens' features at token level.
        losses: (texts,) per-text cross-entropy (the mean over its labeled words at token level), only
            for labeled splits (source validation); None for unlabeled text.
    """

    probs: torch.Tensor
    features: torch.Tensor
    losses: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.probs.ndim != 2:
            raise ValueError(f"probs must be (rows, classes), got shape {tuple(self.probs.shape)}")
        if self.features.ndim != 2:
            raise ValueError(f"features must be (texts, dim), got shape {tuple(self.features.shape)}")
        if self.losses is not None and self.losses.shape != self.features.shape[:1]:
            raise ValueError(
                f"losses {tuple(self.losses.shape)} must hold one value per text ({self.features.shape[0]})"
            )
