"""Feature extraction: a frozen pretrained encoder, and only the head trains."""

from __future__ import annotations

from typing import Any

import torch

from nlp_transfer.strategies.base import Batch, TransferModule


class FeatureExtractionModule(TransferModule):
    """Frozen encoder (no gradients, always in eval mode so dropout is off) + trained head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.encoder.requires_grad_(False)
        self.encoder.eval()

    def train(self, mode: bool = True) -> FeatureExtractionModule:
        super().train(mode)
        self.encoder.eval()  # a frozen extractor gives the same features every epoch
        return self

    def features(self, batch: Batch) -> torch.Tensor:
        with torch.no_grad():
            return super().features(batch)
