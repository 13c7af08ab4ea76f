"""CORAL: correlation alignment (Deep CORAL, Sun & Saenko 2016, ECCV workshops).

The encoder is trained so that source and target features have the same second-order statistics:
loss = CE(source) + w(p) · ‖C_S − C_T‖²_F / (4 d²), with C each domain's batch feature covariance.
It is cheap (one d × d covariance per domain) and needs no discriminator; it aligns spread and
correlations, not means.

At token level (NER) the covariances are taken over the real tokens' feature rows, each domain
subsampled to at most `max_domain_rows`. CORAL reads no prediction, so it keeps every real token rather
than words only (`word_rows`): it aligns the encoder's representation of every token.
"""

from __future__ import annotations

from typing import Any

import torch

from nlp_transfer.adaptation.coral import CoralLoss
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows


class CORALModule(DomainAdaptationModule):
    """Encoder + classifier, with the CORAL distance between source and target features as the domain loss."""

    min_domain_rows = CoralLoss.min_rows  # a covariance needs two rows

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.coral = CoralLoss()

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """‖C_S − C_T‖²_F / (4 d²) of the feature rows; predictions play no part."""
        return self.coral(rows.source_features, rows.target_features), {}
