"""Length-grouped batching for training: batches of similar length, so dynamic padding pays off.

With random batches nearly every batch holds one long text, and padding to it wastes most of the
compute on long-tailed data such as Amazon reviews. Here the indices are shuffled, cut into pools of
`pool_batches` batches, each pool is sorted by length and cut into batches, and the batches are
shuffled again: batches are homogeneous in length while their order and composition stay random.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Random batches of similar lengths; a new order every epoch, reproducible from the seed."""

    def __init__(
        self, lengths: Sequence[int], batch_size: int, pool_batches: int = 50, seed: int | None = None
    ) -> None:
        if batch_size <= 0 or pool_batches <= 0:
            raise ValueError(
                f"batch_size and pool_batches must be positive, got {batch_size}, {pool_batches}"
            )
        self.lengths = torch.as_tensor(list(lengths))
        self.batch_size = batch_size
        self.pool_size = batch_size * pool_batches
        self.seed = torch.initial_seed() if seed is None else seed
        self.epoch = 0

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        self.epoch += 1
        order = torch.randperm(len(self.lengths), generator=generator)
        batches: list[list[int]] = []
        for start in range(0, len(order), self.pool_size):
            pool = order[start : start + self.pool_size]
            pool = pool[torch.argsort(self.lengths[pool], descending=True, stable=True)]
            batches += [pool[i : i + self.batch_size].tolist() for i in range(0, len(pool), self.batch_size)]
        for index in torch.randperm(len(batches), generator=generator).tolist():
            yield batches[index]
