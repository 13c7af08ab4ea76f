"""Full fine-tuning: every encoder and head weight trains on labeled source data."""

from __future__ import annotations

from nlp_transfer.strategies.base import TransferModule


class FineTuneModule(TransferModule):
    """Source-only fine-tuning (Devlin et al. 2019): the shared base already is this method."""
