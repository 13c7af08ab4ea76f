"""MMD: deep adaptation by matching kernel mean embeddings (DAN, Long et al. 2015, ICML).

No discriminator: the encoder is trained to shrink the multi-kernel maximum mean discrepancy
between a source batch's and a target batch's features, a two-sample statistic that is zero when
the two feature distributions coincide. Loss = CE(source) + w(p) · MK-MMD²(source, target).

At token level (NER) the two samples are the real tokens' feature rows, each subsampled to at most
`max_domain_rows` so the (n + m)² kernel matrix stays small. MMD reads no prediction, so it keeps every
real token rather than words only (`word_rows`): it aligns the encoder's representation of every token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from nlp_transfer.adaptation.mmd import MultiKernelMMD
from nlp_transfer.strategies.domain_adaptation import DomainAdaptationModule, DomainRows


class MMDModule(DomainAdaptationModule):
    """Encoder + classifier, with MK-MMD² between source and target features as the domain loss.

    Args (beyond `DomainAdaptationModule`):
        kernel_multipliers: Gaussian bandwidths as multiples of the base bandwidth.
        bandwidth: `median` or `mean` heuristic for the base bandwidth (squared pairwise distance).
        estimator: `unbiased` (U-statistic) or `biased` (V-statistic).
    """

    def __init__(
        self,
        *args: Any,
        kernel_multipliers: Sequence[float] = (0.25, 0.5, 1.0, 2.0, 4.0),
        bandwidth: str = "median",
        estimator: str = "unbiased",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.mmd = MultiKernelMMD(kernel_multipliers, bandwidth, estimator)
        self.min_domain_rows = self.mmd.min_rows  # the unbiased estimate needs a within-domain pair

    def domain_loss(self, rows: DomainRows) -> tuple[torch.Tensor, dict[str, float | torch.Tensor]]:
        """MK-MMD² of the feature rows; predictions play no part."""
        return self.mmd(rows.source_features, rows.target_features), {}
