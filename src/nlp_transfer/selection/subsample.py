"""A fixed random subset of rows, for validators whose cost grows faster than linearly in the rows
(SND's n × n similarity matrix, ClassAMI's k-means): at token level (NER) the target slice holds
thousands of words. The subset depends only on the row count (seed 0), so every validation point of a
run scores the same rows.
"""

from __future__ import annotations

import torch


def fixed_subset(rows: int, max_rows: int) -> torch.Tensor:
    """Indices of at most `max_rows` of `rows` rows: all of them in order, or a seed-0 random draw."""
    if rows <= max_rows:
        return torch.arange(rows)
    return torch.randperm(rows, generator=torch.Generator().manual_seed(0))[:max_rows]
