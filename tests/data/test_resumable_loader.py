"""Training loaders' place in the epoch: saved after k batches, a fresh loader restored from it goes on
with exactly the batches the uninterrupted loader would have yielded, across passes and epochs."""

from __future__ import annotations

import pytest
import torch
from lightning_fabric.utilities.types import _Stateful
from pytorch_lightning.utilities import CombinedLoader
from torch.utils.data import DistributedSampler

from nlp_transfer.data.bucketing import EpochShuffle, LengthGroupedBatchSampler
from nlp_transfer.data.resumable_loader import ResumableLoader

SOURCE_SIZE, TARGET_SIZE = 21, 7  # 6 source batches of 4, 2 target batches of 4: the target cycles 3 times


def _loaders(epoch: int, num_workers: int = 0) -> dict[str, ResumableLoader]:
    """As the datamodule builds them: the source length-grouped, the target per-index shuffled."""
    lengths = torch.randint(1, 50, (SOURCE_SIZE,), generator=torch.Generator().manual_seed(0)).tolist()
    common = {"num_workers": num_workers, "persistent_workers": num_workers > 0}
    source = LengthGroupedBatchSampler(lengths, batch_size=4, pool_batches=2, seed=11, epoch=epoch)
    target = EpochShuffle(TARGET_SIZE, seed=12, epoch=epoch)
    target_data = list(range(100, 100 + TARGET_SIZE))
    return {
        "source": ResumableLoader(list(range(SOURCE_SIZE)), batch_sampler=source, **common),
        "target": ResumableLoader(target_data, batch_size=4, sampler=target, **common),
    }


def _epoch(combined: CombinedLoader, epoch: int, stop_after: int | None = None) -> list[list[list[int]]]:
    """One epoch (or its first `stop_after` steps) as Lightning runs it: set_epoch, then max_size_cycle."""
    for loader in combined.flattened:
        _sampler(loader).set_epoch(epoch)
    steps = []
    for batch, _, _ in iter(combined):
        steps.append([batch["source"].tolist(), batch["target"].tolist()])
        if len(steps) == stop_after:
            break
    return steps


def _sampler(loader: ResumableLoader) -> EpochShuffle:
    if isinstance(loader.batch_sampler, LengthGroupedBatchSampler):
        return loader.batch_sampler.sampler
    return loader.sampler


@pytest.mark.parametrize(
    ("epoch", "steps", "num_workers"), [(0, 1, 0), (1, 3, 0), (1, 5, 0), (2, 6, 0), (1, 5, 2)]
)  # workers draw indices ahead of use: the position is counted where batches leave the loader
def test_a_restored_loader_yields_exactly_the_rest_of_the_interrupted_epoch_and_the_next(
    epoch: int, steps: int, num_workers: int
) -> None:
    uninterrupted = CombinedLoader(_loaders(0, num_workers), mode="max_size_cycle")
    expected = [_epoch(uninterrupted, e) for e in range(epoch + 2)]

    interrupted = CombinedLoader(_loaders(0, num_workers), mode="max_size_cycle")
    for e in range(epoch):
        _epoch(interrupted, e)
    done = _epoch(interrupted, epoch, stop_after=steps)
    states = [loader.state_dict() for loader in interrupted.flattened]
    target_state = interrupted.iterables["target"].state_dict()
    assert target_state == {"epoch": epoch, "pass": (steps - 1) // 2, "batches": (steps - 1) % 2 + 1}

    resumed = CombinedLoader(_loaders(epoch, num_workers), mode="max_size_cycle")  # a new process's loaders
    assert all(isinstance(loader, _Stateful) for loader in resumed.flattened)  # Lightning saves their state
    for loader, state in zip(resumed.flattened, states, strict=True):
        loader.load_state_dict(state)
    rest = _epoch(resumed, epoch)
    assert done + rest == expected[epoch]  # the remaining batches of both loaders, target passes included
    assert _epoch(resumed, epoch + 1) == expected[epoch + 1]  # and the next epoch as if never interrupted


def test_a_state_saved_at_an_epoch_end_leaves_the_next_epoch_whole() -> None:
    first = CombinedLoader(_loaders(0), mode="max_size_cycle")
    for epoch in (0, 1):
        _epoch(first, epoch)
    states = [loader.state_dict() for loader in first.flattened]
    assert states[0] == {"epoch": 1, "pass": 0, "batches": 6}

    # Lightning builds the loaders (with the epoch that ended) and loads the state before moving on
    resumed = CombinedLoader(_loaders(1), mode="max_size_cycle")
    for loader, state in zip(resumed.flattened, states, strict=True):
        loader.load_state_dict(state)
    assert _epoch(resumed, 2) == _epoch(first, 2)


def test_the_shuffles_resume_at_a_pass_and_offset_of_their_epoch() -> None:
    reference = LengthGroupedBatchSampler(list(range(40)), batch_size=4, pool_batches=2, seed=3, epoch=2)
    passes = [list(reference) for _ in range(3)]
    resumed = LengthGroupedBatchSampler(list(range(40)), batch_size=4, pool_batches=2, seed=3, epoch=2)
    resumed.sampler.resume_at(pass_index=1, skip=7)
    assert list(resumed) == passes[1][7:]
    assert list(resumed) == passes[2]  # the skip holds for one pass only

    indices = EpochShuffle(30, seed=4, epoch=1)
    orders = [list(indices) for _ in range(2)]
    again = EpochShuffle(30, seed=4, epoch=1)
    again.resume_at(pass_index=1, skip=12)
    assert list(again) == orders[1][12:]
    with pytest.raises(ValueError, match="must be >= 0"):
        again.resume_at(-1, 0)


def test_a_loader_over_another_sampler_drops_the_batches_already_trained_on() -> None:
    """Under DDP Lightning swaps in its DistributedSampler: same order every pass of an epoch."""

    def loader() -> ResumableLoader:
        sampler = DistributedSampler(list(range(40)), num_replicas=2, rank=0, shuffle=True, seed=5)
        sampler.set_epoch(3)
        return ResumableLoader(list(range(40)), batch_size=3, sampler=sampler)

    full, interrupted = loader(), loader()
    batches = [b.tolist() for b in full]
    iterator = iter(interrupted)
    done = [next(iterator).tolist() for _ in range(4)]
    resumed = loader()
    resumed.load_state_dict(interrupted.state_dict())
    assert done + [b.tolist() for b in resumed] == batches


def test_a_state_of_other_code_is_refused_with_the_way_out() -> None:
    with pytest.raises(ValueError, match="resume from an epoch-end checkpoint"):
        _loaders(0)["source"].load_state_dict({"samples_yielded": 12})
