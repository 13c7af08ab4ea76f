"""Shuffling for training that a resumed run repeats exactly, length-grouped training batches, and
length-sorted evaluation batches (`LengthSortedBatchSampler`).

Length grouping: with random batches nearly every batch holds one long text, and padding to it
wastes most of the compute on long-tailed data such as Amazon reviews. Here the indices are
shuffled, cut into pools of `pool_batches` batches, each pool is sorted by length and cut into
batches, and the batches are shuffled again: batches are homogeneous in length while their order
and composition stay random.

Resumable order: every pass over the data draws from its own generator seeded by (seed, epoch,
pass within the epoch), never from the global RNG. Lightning calls `set_epoch` on
`batch_sampler.sampler` each epoch, and a run resumed at epoch k builds its sampler with
`epoch=k`, so it sees the same batches the uninterrupted run would have seen.

Mid-epoch resume: `resume_at(pass, skip)` makes the next pass that pass of the epoch minus the items an
interrupted run already trained on (data/resumable_loader.py counts them and asks for it), so those are
skipped by index, without loading their data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import BatchSampler, Sampler

_EPOCH_STRIDE = 1_000_003  # primes keep (seed, epoch, pass) triples from colliding for realistic sizes
_PASS_STRIDE = 7_919


class EpochShuffle(Sampler[int]):
    """A fresh random permutation per pass, determined by (seed, epoch, pass) alone.

    A pass is one iteration; loaders cycled within an epoch (the shorter side of a source/target
    pair) make several passes per epoch, each with its own order.
    """

    def __init__(self, size: int, seed: int | None = None, epoch: int = 0) -> None:
        self.size = size
        self.seed = torch.initial_seed() if seed is None else seed
        self.epoch = epoch
        self.passes = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at each epoch start; a repeated call for the same epoch changes nothing."""
        if epoch != self.epoch:
            self.epoch, self.passes, self._skip = epoch, 0, 0

    def resume_at(self, pass_index: int, skip: int) -> None:
        """Make the next pass pass `pass_index` of the current epoch, less its first `skip` items
        (indices here; batches when a `LengthGroupedBatchSampler` owns this shuffle)."""
        if pass_index < 0 or skip < 0:
            raise ValueError(f"pass_index and skip must be >= 0, got {pass_index}, {skip}")
        self.passes, self._skip = pass_index, skip

    def start_pass(self) -> tuple[torch.Generator, int]:
        """The generator of the next pass and how many of its leading items a resume skips."""
        skip, self._skip = self._skip, 0
        return self.next_generator(), skip

    def next_generator(self) -> torch.Generator:
        """The generator of the next pass (advances the pass counter)."""
        seed = (self.seed + _EPOCH_STRIDE * self.epoch + _PASS_STRIDE * self.passes) % (2**63)
        self.passes += 1
        return torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        generator, skip = self.start_pass()
        yield from torch.randperm(self.size, generator=generator)[skip:].tolist()


class LengthGroupedBatchSampler(Sampler[list[int]]):
    """Random batches of similar lengths; a new order every pass, reproducible from seed and epoch."""

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        pool_batches: int = 50,
        seed: int | None = None,
        epoch: int = 0,
    ) -> None:
        if batch_size <= 0 or pool_batches <= 0:
            raise ValueError(
                f"batch_size and pool_batches must be positive, got {batch_size}, {pool_batches}"
            )
        self.lengths = torch.as_tensor(list(lengths))
        self.batch_size = batch_size
        self.pool_size = batch_size * pool_batches
        # named `sampler` so that Lightning's per-epoch `set_epoch` reaches it
        self.sampler = EpochShuffle(len(self.lengths), seed, epoch)

    @property
    def seed(self) -> int:
        return self.sampler.seed

    def __len__(self) -> int:
        return (len(self.lengths) + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[list[int]]:
        generator, skip = self.sampler.start_pass()
        order = torch.randperm(len(self.lengths), generator=generator)
        batches: list[list[int]] = []
        for start in range(0, len(order), self.pool_size):
            pool = order[start : start + self.pool_size]
            pool = pool[torch.argsort(self.lengths[pool], descending=True, stable=True)]
            batches += [pool[i : i + self.batch_size].tolist() for i in range(0, len(pool), self.batch_size)]
        for index in torch.randperm(len(batches), generator=generator).tolist()[skip:]:
            yield batches[index]


class LengthSortedBatchSampler(BatchSampler):
    """Evaluation batches of the indices `sampler` yields, sorted by length, longest first; no randomness.

    Padding to each batch's longest text then wastes little compute, and the first batch is the
    largest, so a batch size that does not fit in memory fails at once rather than at the end. Outputs
    come out of file order: whoever keeps per-example rows reads each row's index from this sampler's
    order (strategies/test_predictions.py), and metrics over a whole split do not depend on order.

    `limit_batches`: the trainer's `limit_{val,test}_batches` (a count, a share, None for all). A limited
    evaluation must read the examples file order would (the first ones), not the longest: the first
    `read` batches hold exactly the first `read × batch_size` indices, sorted among themselves.

    A `BatchSampler` with a `sampler` argument, so that Lightning can swap in its DistributedSampler
    under DDP: each rank then sorts its own shard.
    """

    def __init__(
        self,
        sampler: Iterable[int],
        lengths: Sequence[int],
        batch_size: int,
        limit_batches: int | float | None = None,
    ) -> None:
        super().__init__(sampler, batch_size, drop_last=False)  # type: ignore[arg-type]
        self.lengths = torch.as_tensor(np.asarray(lengths), dtype=torch.long)
        self.limit_batches = limit_batches

    def batches_read(self) -> int:
        """How many batches the trainer reads, counted as Lightning counts them (`_parse_num_batches`)."""
        total = len(self)
        if self.limit_batches is None:
            return total
        if isinstance(self.limit_batches, float):
            return int(total * self.limit_batches)
        return min(total, int(self.limit_batches))

    def __iter__(self) -> Iterator[list[int]]:
        indices = torch.as_tensor(list(self.sampler), dtype=torch.long)
        read = self.batches_read() * self.batch_size
        for part in (indices[:read], indices[read:]):
            order = part[torch.argsort(self.lengths[part], descending=True, stable=True)].tolist()
            for start in range(0, len(order), self.batch_size):
                yield order[start : start + self.batch_size]
