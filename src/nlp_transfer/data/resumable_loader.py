"""A training DataLoader that a run killed mid-epoch resumes at the very batch it stopped at.

Lightning writes `state_dict()` of every training loader that has one (its `_Stateful` protocol) into the
checkpoint and, on resume, hands it to `load_state_dict` before the first batch; loaders without one
restart the epoch from its first batch, so a resumed run would train on other batches than an
uninterrupted one. The position is counted where batches leave the loader, not in the sampler: worker
processes draw indices ahead of use.

A loader cycled within the epoch (the shorter side of a source/target pair) makes several passes, each
with its own order (data/bucketing.py), so the position names the pass as well as the batches done.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from torch.utils.data import DataLoader

from nlp_transfer.data.balanced_sources import BalancedSourceBatchSampler
from nlp_transfer.data.bucketing import EpochShuffle, LengthGroupedBatchSampler

_POSITION_KEYS = {"epoch", "pass", "batches"}


class ResumableLoader(DataLoader):
    """A DataLoader whose place within the epoch goes into the checkpoint and comes back from it.

    With the project's samplers the batches already trained on are skipped by index (no data is read
    for them). With any other sampler (Lightning's distributed one under DDP, which repeats its order on
    every pass of an epoch) they are drawn and dropped.
    """

    _position: dict[str, int] | None = None  # of the last batch handed out
    _pending: dict[str, int] | None = None  # loaded from a checkpoint, applied when the next pass starts

    def state_dict(self) -> dict[str, int]:
        """The last batch handed out: its epoch, its pass within the epoch, and the batches of that pass
        handed out so far (empty before the first batch)."""
        return dict(self._position or {})

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Resume there at the next pass, if that pass is in the saved epoch (after an epoch-end save
        it is not: the next epoch starts afresh)."""
        if state and set(state) != _POSITION_KEYS:
            raise ValueError(
                f"A training loader state holds {sorted(state)}, expected {sorted(_POSITION_KEYS)}: the "
                "checkpoint was written by other code; resume from an epoch-end checkpoint or start afresh."
            )
        self._pending = dict(state) if state else None

    def __iter__(self) -> Iterator[Any]:
        # a generator: the pass starts at the first batch, after Lightning's `set_epoch` for this epoch
        return self._batches()

    def _batches(self) -> Iterator[Any]:
        shuffle, items_per_batch = _epoch_shuffle(self)
        epoch = shuffle.epoch if shuffle is not None else getattr(self.sampler, "epoch", 0)
        pending, self._pending = self._pending, None
        done = pending["batches"] if pending is not None and pending["epoch"] == epoch else 0
        if done and shuffle is not None:
            shuffle.resume_at(pending["pass"], done * items_per_batch)
        iterator = super().__iter__()
        if done and shuffle is None:
            for _ in itertools.islice(iterator, done):
                pass  # the same order on every pass: drop what the interrupted run trained on
        pass_index = None
        for batch in iterator:
            if pass_index is None:  # the shuffle has started this iterator's pass by now
                pass_index = shuffle.passes - 1 if shuffle is not None else 0
            done += 1
            self._position = {"epoch": epoch, "pass": pass_index, "batches": done}
            yield batch


def _epoch_shuffle(loader: DataLoader) -> tuple[EpochShuffle | None, int]:
    """The loader's `EpochShuffle` (None for another sampler) and how many of its items make a batch."""
    if isinstance(loader.batch_sampler, LengthGroupedBatchSampler | BalancedSourceBatchSampler):
        return loader.batch_sampler.sampler, 1
    if isinstance(loader.sampler, EpochShuffle) and loader.batch_size is not None:
        return loader.sampler, loader.batch_size
    return None, 1
