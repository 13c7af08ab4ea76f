"""Training batches that hold an equal share of every source domain (multi-source adaptation).

Pooling k sources and drawing batches at random lets the largest source dominate every step, and a
multi-source domain loss (strategies/dann_multi_source.py) wants every source in every batch. So each
batch of `batch_size` holds `batch_size // k` examples of each source, and the `batch_size % k` slots
left over go to the sources in turn (batch j gives one extra to sources j, j+1, … mod k): per-batch
counts differ by at most one and are equal over any k consecutive batches of a pass.

A pass (one iteration of the loader) lasts until the largest source has been seen once:
ceil(k · largest / batch_size) batches; smaller sources are cycled, each time in a new random order.
Within each source, examples are drawn from shuffled pools of similar length (as in
`LengthGroupedBatchSampler`) when `group_by_length`, and the batches of the pass are shuffled last.

Indices are those of the pooled dataset: source s occupies [offsets[s], offsets[s+1]). The order comes
from `self.sampler` (an `EpochShuffle` used as the pass clock), so Lightning's `set_epoch`, a resumed
epoch and a mid-epoch resume (`ResumableLoader` skips batches by index) work as for single sources.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from nlp_transfer.data.bucketing import EpochShuffle


class BalancedSourceBatchSampler(Sampler[list[int]]):
    """Batches of the pooled dataset with every source's share equal (± one); see the module docstring.

    Args:
        source_lengths: per source, the token length of each of its examples (in pooled order).
        batch_size: examples per batch, at least the number of sources.
        group_by_length: draw each source's share from pools of similar length (less padding).
        pool_batches: pool size in batches, as in `LengthGroupedBatchSampler`.
        seed, epoch: as for `EpochShuffle`.
    """

    def __init__(
        self,
        source_lengths: Sequence[Sequence[int]],
        batch_size: int,
        group_by_length: bool = True,
        pool_batches: int = 50,
        seed: int | None = None,
        epoch: int = 0,
    ) -> None:
        sizes = [len(lengths) for lengths in source_lengths]
        if not sizes or min(sizes) == 0:
            raise ValueError(f"Every source needs examples; got sizes {sizes}")
        if batch_size < len(sizes):
            raise ValueError(
                f"task.batch_size={batch_size} cannot hold one example of each of {len(sizes)} sources; "
                f"use task.batch_size={len(sizes)} or more (a multiple of {len(sizes)} keeps shares equal)."
            )
        self.lengths = [torch.as_tensor(np.asarray(lengths), dtype=torch.long) for lengths in source_lengths]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        self.batch_size = batch_size
        self.group_by_length = group_by_length
        self.pool_batches = pool_batches
        # named `sampler` so that Lightning's per-epoch `set_epoch` reaches it; it only counts passes
        self.sampler = EpochShuffle(sum(sizes), seed, epoch)

    @property
    def num_sources(self) -> int:
        return len(self.lengths)

    def __len__(self) -> int:
        largest = max(len(lengths) for lengths in self.lengths)
        return -(-largest * self.num_sources // self.batch_size)

    def shares(self, batch: int) -> list[int]:
        """Examples of each source in batch number `batch` of a pass: base, plus one for `extra` in turn."""
        base, extra = divmod(self.batch_size, self.num_sources)
        return [base + int((s - batch) % self.num_sources < extra) for s in range(self.num_sources)]

    def _stream(self, source: int, generator: torch.Generator) -> Iterator[int]:
        """Endless pooled indices of one source: shuffled, length-sorted in pools, reshuffled per cycle."""
        lengths, offset = self.lengths[source], self.offsets[source]
        pool = max(1, self.batch_size // self.num_sources) * self.pool_batches
        while True:
            order = torch.randperm(len(lengths), generator=generator)
            for start in range(0, len(order), pool):
                part = order[start : start + pool]
                if self.group_by_length:
                    part = part[torch.argsort(lengths[part], descending=True, stable=True)]
                yield from (offset + part).tolist()

    def __iter__(self) -> Iterator[list[int]]:
        generator, skip = self.sampler.start_pass()
        streams = [self._stream(s, generator) for s in range(self.num_sources)]
        batches = []
        for batch in range(len(self)):
            shares = self.shares(batch)
            batches.append([next(streams[s]) for s in range(self.num_sources) for _ in range(shares[s])])
        for index in torch.randperm(len(batches), generator=generator).tolist()[skip:]:
            yield batches[index]

    def source_of(self, index: int) -> int:
        """Which source a pooled index belongs to."""
        return int(np.searchsorted(self.offsets, index, side="right")) - 1
